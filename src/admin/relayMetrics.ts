import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PolicySource } from '../policy/appliedPolicy.js';
import type { RefusalReason } from '../policy/inbound.js';
import type { QueueCounts } from '../queue/messageState.js';
import type { AttemptRecord } from '../queue/types.js';
import type { Dated } from '../tls/dated.js';
import type { TransitRecord } from '../transit/record.js';

// The relay's Prometheus metrics. Every label value comes from a bounded set: listener and
// connector names of the config, the relay's own vocabularies (outcomes, verdicts, policy
// sources, refusal reasons, RFC 8460 result types, OpenSSL's handshake reasons), TLS
// versions, and the subjects of the certificates the config names — never an address.
// Counters are told as things happen (RelayMetrics is the observer inbound and outbound
// are given); the queue and the expiry dates are read when a scrape asks.

/** What a scrape reads from the running relay. */
export interface ScrapeSources {
  /** The queue as the delivery agent knows it (no read of the store). */
  queue(): QueueCounts;
  /** Served certificates, trust anchors and CRLs, with when each runs out. */
  dated(): Dated[];
}

/** From the 250 to the next hop's 250: seconds for a next hop that is up, hours and days for one that is not. */
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86_400, 2 * 86_400];

/** The label of a session without an inbound connector, and of an attempt without TLS. */
const NONE = 'none';

/** The earliest end per role and subject: two certificates of one name (RSA beside ECDSA) are one series, the sooner one counts. */
function expiryBySeries(dated: readonly Dated[]): Map<string, { role: Dated['kind']; subject: string; end: number }> {
  const series = new Map<string, { role: Dated['kind']; subject: string; end: number }>();
  for (const { kind, subject, end } of dated) {
    const key = `${kind}\0${subject}`;
    const known = series.get(key);
    if (known === undefined || end.getTime() < known.end) series.set(key, { role: kind, subject, end: end.getTime() });
  }
  return series;
}

export class RelayMetrics {
  readonly registry = new Registry();
  private readonly received: Counter<'listener' | 'connector' | 'tls'>;
  private readonly rejections: Counter<'listener' | 'reason'>;
  private readonly attempts: Counter<'connector' | 'outcome' | 'verdict' | 'tls_version' | 'policy'>;
  private readonly queueMessages: Gauge<'state'>;
  private readonly oldestAge: Gauge;
  private readonly smtpSessions: Gauge<'listener'>;
  private readonly outboundConnections: Gauge<'connector'>;
  private readonly handshakeFailures: Counter<'direction' | 'reason'>;
  private readonly expiry: Gauge<'role' | 'subject'>;
  private readonly duration: Histogram;

  constructor(
    private readonly sources: ScrapeSources,
    /** The configured listeners: each shows its open sessions, 0 included. */
    listeners: readonly string[],
    private readonly clock: () => number = Date.now,
  ) {
    const registers = [this.registry];
    this.received = new Counter({ name: 'tlsrelay_messages_received_total', help: 'Messages accepted (250 after DATA), by listener, inbound connector (none: no connector matched) and whether the session was in TLS.', labelNames: ['listener', 'connector', 'tls'], registers });
    this.rejections = new Counter({ name: 'tlsrelay_smtp_rejections_total', help: 'Refusals sent to SMTP clients, by listener and reason.', labelNames: ['listener', 'reason'], registers });
    this.attempts = new Counter({
      name: 'tlsrelay_delivery_attempts_total',
      help: 'Delivery attempts, one per message and next hop tried, by outbound connector, outcome, certificate verdict, TLS version (none: plaintext) and the source of the policy that governed the session.',
      labelNames: ['connector', 'outcome', 'verdict', 'tls_version', 'policy'],
      registers,
    });
    this.queueMessages = new Gauge({ name: 'tlsrelay_queue_messages', help: 'Messages in the queue by state: due (to be tried now), deferred (waiting for their next attempt), held.', labelNames: ['state'], registers });
    this.oldestAge = new Gauge({ name: 'tlsrelay_queue_oldest_message_age_seconds', help: 'Age of the oldest message in the queue; 0 when it is empty.', registers });
    this.smtpSessions = new Gauge({ name: 'tlsrelay_smtp_sessions', help: 'Inbound SMTP sessions open now, by listener.', labelNames: ['listener'], registers });
    this.outboundConnections = new Gauge({ name: 'tlsrelay_outbound_connections', help: 'Connections to next hops open now (idle ones kept for reuse included), by outbound connector.', labelNames: ['connector'], registers });
    this.handshakeFailures = new Counter({
      name: 'tlsrelay_tls_handshake_failures_total',
      help: 'Failed TLS: inbound, handshakes that broke (reason as the log says it); outbound, sessions whose TLS failed or fell short of their policy (reason: the RFC 8460 result type).',
      labelNames: ['direction', 'reason'],
      registers,
    });
    this.expiry = new Gauge({ name: 'tlsrelay_certificate_expiry_timestamp_seconds', help: 'When each served certificate, trust anchor (notAfter) and CRL (nextUpdate) runs out, Unix time.', labelNames: ['role', 'subject'], registers });
    this.duration = new Histogram({ name: 'tlsrelay_delivery_duration_seconds', help: 'From the 250 that took a message to the 250 of the next hop that took it.', buckets: DURATION_BUCKETS, registers });
    collectDefaultMetrics({ register: this.registry });
    for (const listener of listeners) this.smtpSessions.set({ listener }, 0);
  }

  sessionOpened(listener: string): void {
    this.smtpSessions.inc({ listener });
  }

  sessionClosed(listener: string): void {
    this.smtpSessions.dec({ listener });
  }

  accepted(listener: string, connector: string | undefined, tls: boolean): void {
    this.received.inc({ listener, connector: connector ?? NONE, tls: String(tls) });
  }

  refused(listener: string, reason: RefusalReason): void {
    this.rejections.inc({ listener, reason });
  }

  handshakeFailed(_listener: string, reason: string): void {
    this.handshakeFailures.inc({ direction: 'inbound', reason });
  }

  attempted(attempt: AttemptRecord, policy: PolicySource, receivedAt: string): void {
    const { connector, outcome, verdict } = attempt;
    this.attempts.inc({ connector, outcome, verdict, tls_version: attempt.tls?.protocol ?? NONE, policy });
    if (outcome === 'delivered') this.duration.observe(Math.max(0, (Date.parse(attempt.at) - Date.parse(receivedAt)) / 1000));
  }

  connectionOpened(connector: string): void {
    this.outboundConnections.inc({ connector });
  }

  connectionClosed(connector: string): void {
    this.outboundConnections.dec({ connector });
  }

  /** A delivery session's transit record: a dialled session whose TLS fell short counts as a failure (undialled hosts had no TLS to fail). */
  sessionRecorded(record: TransitRecord): void {
    if (record.ip !== null && record.failure !== null) this.handshakeFailures.inc({ direction: 'outbound', reason: record.failure });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text, with the queue and the expiry dates read now. */
  async text(): Promise<string> {
    const queue = this.sources.queue();
    for (const [state, count] of Object.entries(queue.byState)) this.queueMessages.set({ state }, count);
    this.oldestAge.set(queue.oldestReceivedAt === undefined ? 0 : Math.max(0, (this.clock() - queue.oldestReceivedAt) / 1000));
    // what is no longer configured (a reload, a renewed certificate's new subject) leaves no stale series
    this.expiry.reset();
    for (const { role, subject, end } of expiryBySeries(this.sources.dated()).values()) this.expiry.set({ role, subject }, end / 1000);
    return this.registry.metrics();
  }
}
