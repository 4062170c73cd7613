import { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import { recordResults } from '../queue/bookkeeping.js';
import { buildBounce } from '../queue/dsn.js';
import type { Spool } from '../queue/spool.js';
import type { AttemptRecord, Envelope, RecipientResult } from '../queue/types.js';
import { deliverDomain } from './deliverDomain.js';
import type { DeliveryContext, MessageResult, OutgoingMessage } from './types.js';

/** How often the spool is read again in full, to see changes made by other processes. */
const RESCAN_INTERVAL_MS = 60_000;
/** At most this many messages ride one domain job (one connection per next hop). */
const MESSAGES_PER_DOMAIN_JOB = 100;

interface DomainOutcome {
  domain: string;
  recipients: RecipientResult[];
  attempts: AttemptRecord[];
}

function isDue(envelope: Envelope, now: number): boolean {
  return Date.parse(envelope.nextAttemptAt) <= now && envelope.recipients.some((rcpt) => rcpt.state === 'pending');
}

/** Pending recipients of the message grouped by their domain. */
function pendingByDomain(envelope: Envelope): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const rcpt of envelope.recipients) {
    if (rcpt.state !== 'pending') continue;
    const list = groups.get(rcpt.domain) ?? [];
    list.push(rcpt.address);
    groups.set(rcpt.domain, list);
  }
  return groups;
}

/**
 * The delivery agent: claims due messages from the spool, hands them to deliverDomain
 * grouped by recipient domain (so messages for one destination share a connection),
 * and writes back what happened — delivered recipients are never sent again, failures
 * are retried on the schedule or bounced. It takes a fresh config snapshot per round.
 */
export class DeliveryAgent {
  private readonly known = new Map<string, Envelope>();
  private readonly claimed = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private activeJobs = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastScan = 0;
  private stopped = false;
  private ticking = false;
  private tickAgain = false;

  constructor(
    private readonly spool: Spool,
    private readonly context: () => DeliveryContext,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.rescan();
    this.wake();
  }

  /** A message became durable: consider it now rather than at the next scan. */
  enqueue(envelope: Envelope): void {
    if (this.stopped) return;
    this.known.set(envelope.id, envelope);
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    this.schedule(0);
  }

  /** Stops claiming; resolves once the deliveries in flight have been recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, delay));
  }

  private async rescan(): Promise<void> {
    const envelopes = await this.spool.list();
    this.known.clear();
    for (const envelope of envelopes) this.known.set(envelope.id, envelope);
    this.lastScan = Date.now();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      if (Date.now() - this.lastScan >= RESCAN_INTERVAL_MS) await this.rescan();
      this.claimDueMessages();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'delivery agent cannot read the spool');
    } finally {
      this.ticking = false;
    }
    if (this.stopped) return;
    if (this.tickAgain) {
      this.tickAgain = false;
      this.schedule(0);
      return;
    }
    this.schedule(this.delayUntilNextDue());
  }

  private delayUntilNextDue(): number {
    let next = this.lastScan + RESCAN_INTERVAL_MS;
    for (const envelope of this.known.values()) {
      if (this.claimed.has(envelope.id)) continue;
      next = Math.min(next, Date.parse(envelope.nextAttemptAt));
    }
    return next - Date.now();
  }

  private claimDueMessages(): void {
    const context = this.context();
    const capacity = context.config.delivery.concurrency - this.activeJobs;
    if (capacity <= 0) return;
    const now = Date.now();
    const due = [...this.known.values()].filter((envelope) => !this.claimed.has(envelope.id) && isDue(envelope, now));
    if (due.length === 0) return;

    const jobs = new Map<string, Envelope[]>();
    for (const envelope of due) {
      for (const domain of pendingByDomain(envelope).keys()) {
        const list = jobs.get(domain) ?? [];
        if (list.length < MESSAGES_PER_DOMAIN_JOB) list.push(envelope);
        jobs.set(domain, list);
      }
    }
    const selected = [...jobs.entries()].slice(0, capacity);
    const outcomes = new Map<string, Array<Promise<DomainOutcome>>>();
    for (const [domain, envelopes] of selected) {
      const results = this.runDomainJob(domain, envelopes, context);
      envelopes.forEach((envelope, index) => {
        const list = outcomes.get(envelope.id) ?? [];
        list.push(results.then((all) => toDomainOutcome(domain, all[index], envelope)));
        outcomes.set(envelope.id, list);
      });
    }
    for (const [id, pending] of outcomes) {
      const envelope = this.known.get(id);
      if (!envelope) continue;
      this.claimed.add(id);
      const settled = Promise.all(pending)
        .then((domainOutcomes) => this.settle(envelope, domainOutcomes, context))
        .catch((err: Error) => this.logger.error({ queueId: id, err: err.message }, 'cannot record delivery results; the message stays queued'))
        .finally(() => {
          this.claimed.delete(id);
          this.running.delete(settled);
          this.wake();
        });
      this.running.add(settled);
    }
  }

  private runDomainJob(domain: string, envelopes: Envelope[], context: DeliveryContext): Promise<MessageResult[]> {
    const messages: OutgoingMessage[] = envelopes.map((envelope) => ({
      queueId: envelope.id,
      from: envelope.from,
      recipients: pendingByDomain(envelope).get(domain) ?? [],
      size: envelope.size,
      openData: () => this.spool.openData(envelope.id),
    }));
    this.activeJobs++;
    return deliverDomain(domain, messages, context)
      .catch((err: Error) => {
        this.logger.error({ domain, err: err.message }, 'delivery failed unexpectedly; the messages are deferred');
        return [];
      })
      .finally(() => {
        this.activeJobs--;
      });
  }

  /** Writes what happened back to the spool: DSN first, so a crash can repeat it but never lose it. */
  private async settle(original: Envelope, outcomes: DomainOutcome[], context: DeliveryContext): Promise<void> {
    const now = new Date();
    let envelope = original;
    let finished = false;
    const bounced: ReturnType<typeof recordResults>['bounce'] = [];
    for (const outcome of outcomes) {
      const { connector } = selectOutboundConnector(context.config, outcome.domain);
      const recorded = recordResults(envelope, outcome.recipients, outcome.attempts, {
        now,
        retry: context.config.queue.retry,
        maxAge: connector.maxAge,
      });
      envelope = recorded.envelope;
      finished = recorded.finished;
      bounced.push(...recorded.bounce);
    }
    if (bounced.length > 0) {
      const bounce = await buildBounce(envelope, bounced, {
        reportingMta: context.config.server.hostname,
        now,
        original: this.spool.openData(envelope.id),
      });
      if (bounce) {
        const queued = await this.spool.store(bounce.message, Readable.from([bounce.data]));
        this.logger.info({ queueId: envelope.id, bounceId: queued.id, to: envelope.from, recipients: bounced.length }, 'bounce queued');
        this.known.set(queued.id, queued);
      } else {
        const why = envelope.from === '' ? 'the message is itself a bounce (null sender)' : 'the sender asked for no failure notice (NOTIFY)';
        this.logger.warn({ queueId: envelope.id, recipients: bounced.map((r) => r.address) }, `undeliverable; no bounce sent: ${why}`);
      }
    }
    if (finished) {
      await this.spool.remove(envelope.id);
      this.known.delete(envelope.id);
    } else {
      await this.spool.update(envelope);
      this.known.set(envelope.id, envelope);
    }
  }
}

/** A domain job that crashed still tells every recipient something: deferred, with why. */
function toDomainOutcome(domain: string, result: MessageResult | undefined, envelope: Envelope): DomainOutcome {
  if (result) return { domain, recipients: result.recipients, attempts: result.attempts };
  const recipients = (pendingByDomain(envelope).get(domain) ?? []).map((address) => ({
    address,
    outcome: 'deferred' as const,
    code: 451,
    response: '451 4.3.0 Internal error: no delivery result',
  }));
  return { domain, recipients, attempts: [] };
}
