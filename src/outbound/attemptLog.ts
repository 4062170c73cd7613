import type { OutboundConnector } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AppliedPolicy, PolicySource } from '../policy/appliedPolicy.js';
import type { ObservedTls } from '../policy/observedTls.js';
import type { PublishedFindings } from '../policy/publishedPolicy.js';
import type { TlsResultType } from '../policy/resultTypes.js';
import type { AttemptRecord, CertVerdict, RequireTlsAttempt, TlsFacts } from '../queue/types.js';
import { RECORD_FORMAT, type RouteKind, type TransitRecord, type TransitSink } from '../transit/record.js';
import type { MessageProgress } from './messageProgress.js';
import type { Disposition } from './replies.js';

// The two records of a delivery: one per message and attempt (kept with the message and
// logged as `delivery attempt`), and one per session in the transit record. Both are
// written here, so whatever a delivery learns of a session reaches both.

/** Everything an attempt record says that is the same for all messages on one connection. */
export interface AttemptScope {
  domain: string;
  connector: OutboundConnector;
  /** `name[address]:port`, or null when no host was reached (routing or setup failed). */
  host: string | null;
  tls: TlsFacts | null;
  verdict: CertVerdict;
  /** The source of the policy that governed the session, or would have (the connector's level where none was judged). */
  policy: PolicySource;
  /** What the session was found to be for REQUIRETLS messages; absent where no session was judged. */
  requireTls?: Exclude<RequireTlsAttempt, 'no-session'>;
}

/**
 * Keeps the attempt with the message and logs it as one line with a fixed set of fields,
 * and `requireTls` for a message that asked for REQUIRETLS.
 * Envelope addresses may appear in `response`; message content and secrets never do.
 */
export function recordAttempt(logger: Logger, progress: MessageProgress, scope: AttemptScope, result: Disposition): void {
  const record: AttemptRecord = {
    at: new Date().toISOString(),
    domain: scope.domain,
    connector: scope.connector.name,
    tlsLevel: scope.connector.tls,
    host: scope.host,
    tls: scope.tls,
    verdict: scope.verdict,
    outcome: result.outcome,
    code: result.code,
    response: result.response,
    ...(progress.message.requireTls ? { requireTls: scope.requireTls ?? 'no-session' } : {}),
  };
  progress.attempts.push(record);
  progress.message.attempted?.(record, scope.policy);
  const { domain, connector, tlsLevel, host, tls, verdict, outcome, code, response } = record;
  const requireTls = record.requireTls === undefined ? {} : { requireTls: record.requireTls };
  logger.info({ queueId: progress.message.queueId, domain, connector, tlsLevel, host, tls, verdict, ...requireTls, outcome, code, response }, 'delivery attempt');
}

/** One connection to one address of a next hop that answered, as dialled or taken up again. */
export interface DeliverySession {
  startedAt: Date;
  domain: string;
  connector: OutboundConnector;
  /** The name dialled (MX, smart host, or an IP), the address and the port. */
  host: string;
  ip: string;
  port: number;
  reused: boolean;
  /** Its messages carry TLS-Required: No: published policies were waived for them. */
  tlsRequiredNo: boolean;
  /** The plaintext retry after opportunistic TLS broke the session before it. */
  fallback: boolean;
  /** What the published sources asked found for the host. */
  published: PublishedFindings | undefined;
}

/** What the TLS ladder made of a session: the policy that governed it, its TLS, and what fell short; and our address in it. */
export interface SessionJudgement {
  policy: AppliedPolicy;
  tls: TlsFacts | null;
  verdict: CertVerdict;
  failure: TlsResultType | null;
  sourceIp: string | undefined;
  /** What the session showed before the connector judged it; absent for a host not dialled. */
  observed?: ObservedTls;
}

/** The attempts one session made for one message; `tlsReport`: the message was one of the relay's TLS reports. */
export interface SessionAttempts {
  attempts: AttemptRecord[];
  tlsReport: boolean;
}

/** The session's outcome from its attempts (one per message): delivered if all were, else the first that was not, deferrals first. */
function sessionOutcome(attempts: [AttemptRecord, ...AttemptRecord[]]): AttemptRecord {
  return attempts.find((attempt) => attempt.outcome === 'deferred') ?? attempts.find((attempt) => attempt.outcome === 'bounced') ?? attempts[attempts.length - 1]!;
}

/** What came of a session's (or an undialled host's) messages, as its record sums it up. */
type Carried = Pick<TransitRecord, 'outcome' | 'reply' | 'messages' | 'delivered'> & { tlsReports: number; requireTls: RequireTlsAttempt | null };

const routeOf = (connector: OutboundConnector): RouteKind => (connector.smartHosts.length > 0 ? 'smart-host' : 'mx');

/** The record: where (`ip` null: never dialled), under what, and what came of it. */
function transitRecord(session: Omit<DeliverySession, 'ip'> & { ip: string | null }, judgement: SessionJudgement, carried: Carried): TransitRecord {
  const { tlsReports, requireTls, ...outcome } = carried;
  return {
    v: RECORD_FORMAT,
    at: session.startedAt.toISOString(),
    domain: session.domain,
    connector: session.connector.name,
    host: session.host,
    ip: session.ip,
    port: session.port,
    ...(judgement.sourceIp === undefined ? {} : { sourceIp: judgement.sourceIp }),
    reused: session.reused,
    route: routeOf(session.connector),
    policy: judgement.policy,
    ...(judgement.observed === undefined ? {} : { observed: judgement.observed }),
    ...(session.fallback ? { fallback: true as const } : {}),
    ...(session.published === undefined ? {} : { published: session.published }),
    tls: judgement.tls,
    verdict: judgement.verdict,
    failure: judgement.failure,
    ...outcome,
    ...(tlsReports > 0 ? { tlsReports } : {}),
    requireTls,
    ...(session.tlsRequiredNo ? { tlsRequiredNo: true as const } : {}),
  };
}

/**
 * Hands the session's transit record to the writer: `carried` are the attempts made over
 * it, per message. A session over which no message was tried (a parked one the next hop
 * had ended meanwhile) carried nothing and is not recorded.
 */
export function recordSession(transit: TransitSink, session: DeliverySession, judgement: SessionJudgement, carried: SessionAttempts[]): void {
  const attempts = carried.flatMap((message) => message.attempts);
  const [first, ...rest] = attempts;
  if (first === undefined) return;
  const { outcome, response } = sessionOutcome([first, ...rest]);
  transit.add(
    transitRecord(session, judgement, {
      outcome,
      reply: response,
      messages: attempts.length,
      delivered: attempts.filter((attempt) => attempt.outcome === 'delivered').length,
      tlsReports: carried.filter((message) => message.tlsReport && message.attempts.length > 0).length,
      // every REQUIRETLS message of one session was judged alike: by the session
      requireTls: attempts.find((attempt) => attempt.requireTls !== undefined)?.requireTls ?? null,
    }),
  );
}

/** A next hop the published-policy plan deferred or skipped: never dialled, for these messages of one delivery. */
export interface UndialledHost {
  at: Date;
  domain: string;
  connector: OutboundConnector;
  host: string;
  /** The port it would have been dialled on. */
  port: number;
  tlsRequiredNo: boolean;
  published: PublishedFindings | undefined;
  policy: AppliedPolicy;
  failure: TlsResultType;
  /** The deferral, as the messages' attempts say it (for a skipped host: why it was not used). */
  reply: string;
}

/**
 * One record per undialled host and delivery, whatever the number of its messages: a
 * domain whose TLSA lookups fail for a day writes one per retry run, not one per message.
 * Nothing was sent, so nothing was delivered, and REQUIRETLS messages had no session.
 */
export function recordUndialled(transit: TransitSink, host: UndialledHost, messages: MessageProgress[]): void {
  if (messages.length === 0) return;
  const judgement: SessionJudgement = { policy: host.policy, tls: null, verdict: 'none', failure: host.failure, sourceIp: undefined };
  transit.add(
    transitRecord({ startedAt: host.at, domain: host.domain, connector: host.connector, host: host.host, ip: null, port: host.port, reused: false, tlsRequiredNo: host.tlsRequiredNo, fallback: false, published: host.published }, judgement, {
      outcome: 'deferred',
      reply: host.reply,
      messages: messages.length,
      delivered: 0,
      tlsReports: messages.filter((progress) => progress.message.tlsReport === true).length,
      requireTls: messages.some((progress) => progress.message.requireTls) ? 'no-session' : null,
    }),
  );
}
