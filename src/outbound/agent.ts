import type { Logger } from '../log.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import { markDelivered, recordResults } from '../queue/bookkeeping.js';
import { CLAIM_STALE_MS, LostClaimError, type MessageQueue, type QueueClaim } from '../queue/messageQueue.js';
import { QueueUnavailableError } from '../queue/queueUnavailable.js';
import { messageState } from '../queue/messageState.js';
import { decideDelayNotice } from '../queue/notices.js';
import { queueDsn } from '../queue/queueBounce.js';
import type { DsnReport, Envelope } from '../queue/types.js';
import { deliverDomain } from './deliverDomain.js';
import { outgoingDsn } from './dsnParameters.js';
import { extensionNeeds } from './mailExtensions.js';
import { RoundRecord, type DomainOutcome } from './roundRecord.js';
import type { DeliveryContext, MessageResult, OutgoingMessage } from './types.js';

/** How often the queue is read again in full, to see changes made by other processes. */
const RESCAN_INTERVAL_MS = 60_000;
/** A queue that could not be read (its database away) is read again this soon. */
const UNREADABLE_RETRY_MS = 5_000;
/** At most this many messages ride one domain job (one connection per next hop). */
const MESSAGES_PER_DOMAIN_JOB = 100;
/** Messages being claimed and read at once while a round is claimed. */
const CLAIMS_IN_PARALLEL = 16;
/** How soon results that could not be written (disk full) are written again. */
const RECORD_RETRY_MS = 30_000;

/**
 * A message of ours from claim to write-back: read under its claim, which nobody else gets
 * meanwhile — unless this process stalls past CLAIM_STALE_MS, and then its writes are refused.
 */
interface ClaimedMessage {
  envelope: Envelope;
  claim: QueueClaim;
}

/** A delivery round whose results could not be written back: kept until they are. */
interface UnrecordedRound {
  outcomes: DomainOutcome[];
  /** Epoch ms of the next try to write them. */
  retryAt: number;
}

function isDue(envelope: Envelope, now: number): boolean {
  return messageState(envelope, now) === 'due' && envelope.recipients.some((rcpt) => rcpt.state === 'pending');
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

/** Domain jobs for the due messages, at most `capacity`, each with at most MESSAGES_PER_DOMAIN_JOB messages. */
function domainJobs(due: Envelope[], capacity: number): Array<[string, Envelope[]]> {
  const jobs = new Map<string, Envelope[]>();
  for (const envelope of due) {
    for (const domain of pendingByDomain(envelope).keys()) {
      const list = jobs.get(domain) ?? [];
      if (list.length < MESSAGES_PER_DOMAIN_JOB) list.push(envelope);
      jobs.set(domain, list);
    }
  }
  return [...jobs.entries()].slice(0, capacity);
}

/**
 * The delivery agent: claims due messages from the queue, hands them to deliverDomain
 * grouped by recipient domain (so messages for one destination share a connection),
 * and writes back what happened — delivered recipients are never sent again, failures
 * are retried on the schedule or bounced. It takes a fresh config snapshot per round.
 *
 * Its index of envelopes is a cache: a message is claimed and read afresh, so that what
 * `tlsrelay queue` changed (hold, retry, delete) counts, and the claim is kept until the
 * results are written back. Another process announces its changes
 * (MessageQueue.announceChange), which makes the agent read the queue again.
 */
export class DeliveryAgent {
  private readonly known = new Map<string, Envelope>();
  private readonly claimed = new Set<string>();
  /**
   * Results the queue would not take (disk full, I/O error). Until they are written, the
   * message is not delivered again: its recipients that got 250 must not get a second copy.
   */
  private readonly unrecorded = new Map<string, UnrecordedRound>();
  private readonly running = new Set<Promise<void>>();
  private activeJobs = 0;
  /** The tick at the next due time (the next retry, the next rescan), and that time. */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  /** A tick is queued for this turn of the event loop: later wakes in it join that one. */
  private tickQueued = false;
  /** When the queue is to be read again: a minute after it was last read, sooner when it could not be. */
  private nextScanAt = 0;
  /** Another process announced a change since the last scan began. */
  private changed = false;
  private stopWatching: (() => void) | undefined;
  private stopped = false;
  private ticking = false;
  private tickAgain = false;

  constructor(
    private readonly queue: MessageQueue,
    private readonly context: () => DeliveryContext,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // Watch first: a change announced while the queue is being read is read again.
    this.stopWatching = this.queue.watchChanges(() => this.rescanSoon());
    await this.rescan();
    this.wake();
  }

  /** Another process changed the queue: read it again at the next tick. */
  private rescanSoon(): void {
    this.changed = true;
    // a retried or released message is to be tried now, even where a next hop was down
    this.context().backoff.endPeriods();
    // and results kept for a queue that would not take them are written now (space may be back)
    const now = Date.now();
    for (const round of this.unrecorded.values()) round.retryAt = Math.min(round.retryAt, now);
    this.wake();
  }

  /**
   * The messages the agent knows of, as last read or recorded: the queue as this process
   * sees it, without reading the store (another process's changes come with the next rescan).
   */
  queued(): Iterable<Envelope> {
    return this.known.values();
  }

  /** A message became durable: consider it now rather than at the next scan. */
  enqueue(envelope: Envelope): void {
    if (this.stopped) return;
    this.known.set(envelope.id, envelope);
    this.wake();
  }

  /**
   * Every message accepted and every round finished wakes the agent: one tick serves all the
   * wakes of a turn of the event loop, with no timer made (and cleared) for each of them.
   */
  wake(): void {
    if (this.stopped || this.tickQueued) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      if (!this.stopped) this.track(this.tick());
    });
  }

  /** Stops claiming; resolves once the deliveries in flight have been recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopWatching?.();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.writeUnrecorded();
  }

  /** A last try for results the queue would not take: what is still unwritten is sent again after a restart. */
  private async writeUnrecorded(): Promise<void> {
    for (const [id, round] of [...this.unrecorded]) {
      // a claim of a message with unwritten results writes them (and delivers nothing)
      await this.claim(id, Date.now(), this.context());
      if (this.unrecorded.has(id)) {
        this.logger.error({ queueId: id, delivered: deliveredIn(round.outcomes) }, 'delivery results still unwritten at shutdown; these recipients will get the message again after the restart');
      }
    }
  }

  /** A tick at `at` (epoch ms); the timer already set for that time stays, rather than being made again after every tick. */
  private scheduleAt(at: number): void {
    if (this.timer !== undefined && this.timerAt === at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.track(this.tick());
    }, Math.max(0, at - Date.now()));
  }

  /** stop() waits for tracked work: ticks (which may be claiming) and deliveries. */
  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  private async rescan(): Promise<void> {
    // Cleared before reading: a change announced while the queue is read is read again.
    this.changed = false;
    const envelopes = await this.queue.list();
    this.known.clear();
    for (const envelope of envelopes) this.known.set(envelope.id, envelope);
    // results kept for a message that is gone (`tlsrelay queue delete`) have nothing left to write
    for (const id of this.unrecorded.keys()) if (!this.known.has(id)) this.unrecorded.delete(id);
    this.nextScanAt = Date.now() + RESCAN_INTERVAL_MS;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    try {
      if (this.changed || Date.now() >= this.nextScanAt) await this.rescan();
      await this.claimDueMessages();
    } catch (err) {
      // read again soon, not at once: a tick that failed at once would spin
      this.nextScanAt = Date.now() + UNREADABLE_RETRY_MS;
      // an unreachable queue database was logged once by the queue
      if (!(err instanceof QueueUnavailableError)) this.logger.error({ err: (err as Error).message }, 'delivery agent cannot read the queue');
    } finally {
      this.ticking = false;
    }
    if (this.stopped) return;
    if (this.tickAgain) {
      this.tickAgain = false;
      this.wake();
      return;
    }
    // Every job that ends wakes the agent: with none free, a timer would only spin.
    if (this.activeJobs >= this.context().config.delivery.concurrency) return;
    this.scheduleAt(this.nextDueAt());
  }

  private nextDueAt(): number {
    let next = this.nextScanAt;
    for (const envelope of this.known.values()) {
      if (this.claimed.has(envelope.id) || envelope.heldAt !== undefined) continue;
      next = Math.min(next, this.unrecorded.get(envelope.id)?.retryAt ?? Date.parse(envelope.nextAttemptAt));
    }
    return next;
  }

  /** Due for delivery, or — for a message whose last results are still unwritten — for writing them. */
  private isReady(envelope: Envelope, now: number): boolean {
    const unrecorded = this.unrecorded.get(envelope.id);
    return unrecorded === undefined ? isDue(envelope, now) : unrecorded.retryAt <= now;
  }

  private async claimDueMessages(): Promise<void> {
    const context = this.context();
    const capacity = context.config.delivery.concurrency - this.activeJobs;
    if (capacity <= 0) return;
    const now = Date.now();
    const due = [...this.known.values()].filter((envelope) => !this.claimed.has(envelope.id) && this.isReady(envelope, now));
    if (due.length === 0) return;

    // The cached copies choose the jobs; the copies read under the claims are delivered.
    const chosen = domainJobs(due, capacity);
    const claims = new Map<string, ClaimedMessage>();
    const toClaim = [...new Set(chosen.flatMap(([, envelopes]) => envelopes.map((envelope) => envelope.id)))];
    // A claim is a handful of store operations (file operations for the file spool); one
    // after the other they held up every job behind the slowest, while inbound's fsyncs
    // queued in the same thread pool.
    const claimNext = async (): Promise<void> => {
      for (let id = toClaim.shift(); id !== undefined; id = toClaim.shift()) {
        const claim = await this.claim(id, now, context);
        if (claim) claims.set(id, claim);
      }
    };
    await Promise.all(Array.from({ length: CLAIMS_IN_PARALLEL }, claimNext));
    if (this.stopped) {
      for (const [id, claimed] of claims) await this.unclaim(id, claimed.claim);
      return;
    }
    // the jobs carry the copies read under the claims, for the domains still pending in them
    const jobs = chosen.flatMap(([domain, cached]): Array<[string, Envelope[]]> => {
      const envelopes = cached.flatMap((envelope) => {
        const claimed = claims.get(envelope.id);
        return claimed && pendingByDomain(claimed.envelope).has(domain) ? [claimed.envelope] : [];
      });
      return envelopes.length === 0 ? [] : [[domain, envelopes]];
    });
    const domainsOf = new Map<string, string[]>();
    for (const [domain, envelopes] of jobs) for (const { id } of envelopes) domainsOf.set(id, [...(domainsOf.get(id) ?? []), domain]);
    const rounds = new Map<string, RoundRecord>();
    for (const [id, claimed] of claims) {
      const round = this.roundRecord(claimed, domainsOf.get(id) ?? [], context);
      rounds.set(id, round);
      this.track(round.written.then(() => this.unclaim(id, claimed.claim)).finally(() => this.wake()));
    }
    for (const [domain, envelopes] of jobs) {
      const results = this.runDomainJob(domain, envelopes, rounds, context);
      envelopes.forEach((envelope, index) => {
        // a message settled during the delivery has been recorded already; this is its end for the rest
        void results.then((all) => rounds.get(envelope.id)!.finish(toDomainOutcome(domain, all[index], envelope)));
      });
    }
  }

  /**
   * How a claimed message's round is written (see RoundRecord): deliveries as soon as the
   * next hop took them, while other domains or recipients are still being tried; the
   * round itself — deliveries, deferrals, bounces, DSNs, the schedule — from the envelope
   * as claimed, once every domain has its outcome (so a "relayed" notice is not lost to an
   * early write; only a crash in between loses it).
   */
  private roundRecord({ envelope: original, claim }: ClaimedMessage, domains: string[], context: DeliveryContext): RoundRecord {
    let written = original;
    return new RoundRecord(domains, {
      deliveries: async (domain, addresses, rest) => {
        written = await this.recordDeliveries(written, domain, addresses, rest, claim);
      },
      round: (outcomes) => this.record(original, outcomes, context, claim),
    });
  }

  /** Marks delivered recipients in the queue now, unless they are already; on a write failure the round's record does it. */
  private async recordDeliveries(envelope: Envelope, domain: string, addresses: string[], rest: 'domains' | 'recipients', claim: QueueClaim): Promise<Envelope> {
    // no attempts and no deferrals here: the round's record adds them, and the schedule is its
    const marked = markDelivered(envelope, addresses);
    const recipients = marked.recipients.filter((recipient, index) => recipient.state !== envelope.recipients[index]!.state).length;
    if (recipients === 0) return envelope;
    try {
      await this.queue.update(marked, claim);
      this.logger.info({ queueId: envelope.id, domain, recipients }, rest === 'domains' ? 'deliveries recorded while other domains are still being tried' : 'deliveries recorded while other recipients are still being tried');
      return marked;
    } catch (err) {
      if (err instanceof LostClaimError) {
        // the round's record finds the claim lost too, and discards the whole round
        this.logger.warn({ queueId: envelope.id, domain, claim: err.message }, 'deliveries of one domain not recorded: another process took over the message claim');
        return envelope;
      }
      this.logger.warn({ queueId: envelope.id, domain, err: (err as Error).message }, 'cannot record the deliveries of one domain yet; they are recorded with the rest of the round');
      return envelope;
    }
  }

  /**
   * Writes a round's results back; if the queue will not take them, keeps them to write
   * again later. Results whose claim was taken over meanwhile are discarded: the message
   * is another process's now, and what it recorded stands.
   */
  private async record(envelope: Envelope, outcomes: DomainOutcome[], context: DeliveryContext, claim: QueueClaim): Promise<void> {
    try {
      await this.settle(envelope, outcomes, context, claim);
      if (this.unrecorded.delete(envelope.id)) this.logger.info({ queueId: envelope.id }, 'delivery results recorded after an earlier failure');
    } catch (err) {
      if (err instanceof LostClaimError) {
        this.unrecorded.delete(envelope.id);
        // its envelope as the new holder leaves it comes with the next rescan
        this.known.delete(envelope.id);
        this.logger.error(
          { queueId: envelope.id, claim: err.message, delivered: deliveredIn(outcomes) },
          `delivery results discarded: another process took over the message claim (this one had not refreshed it for ${CLAIM_STALE_MS / 1000} s: stopped, paused or blocked); that process's record stands, and the recipients delivered here may get the message again`,
        );
        return;
      }
      this.unrecorded.set(envelope.id, { outcomes, retryAt: Date.now() + RECORD_RETRY_MS });
      this.logger.error(
        { queueId: envelope.id, err: (err as Error).message },
        `cannot record delivery results; they are kept and written again in ${RECORD_RETRY_MS / 1000} s, and the message is not delivered again before that`,
      );
    }
  }

  /**
   * Claims the message and reads it afresh. Undefined when it is not ours to deliver now:
   * another process holds it (its announcement or the next rescan brings it back), or it
   * is gone, held, no longer due, or damaged (then quarantined).
   */
  private async claim(id: string, now: number, context: DeliveryContext): Promise<ClaimedMessage | undefined> {
    this.claimed.add(id);
    let claim: QueueClaim | undefined;
    try {
      const attempt = await this.queue.claim(id);
      if (attempt.kind === 'busy') {
        this.known.delete(id);
      } else {
        claim = attempt.claim;
        const checked = await this.queue.check(id);
        if (checked.kind === 'found') this.known.set(id, checked.envelope);
        else this.known.delete(id);
        const unrecorded = this.unrecorded.get(id);
        if (unrecorded !== undefined) {
          // gone meanwhile (`tlsrelay queue delete`): nothing left to write
          if (checked.kind === 'found') await this.record(checked.envelope, unrecorded.outcomes, context, claim);
          else this.unrecorded.delete(id);
        } else if (checked.kind === 'found' && isDue(checked.envelope, now)) {
          return { envelope: checked.envelope, claim };
        }
      }
    } catch (err) {
      this.known.delete(id);
      // the queue logged an unreachable database once; the message comes back when it can be read again
      if (err instanceof QueueUnavailableError) this.nextScanAt = Math.min(this.nextScanAt, Date.now() + UNREADABLE_RETRY_MS);
      else this.logger.error({ queueId: id, err: (err as Error).message }, 'cannot claim a message; it is tried again after the next rescan');
    }
    await this.unclaim(id, claim);
    return undefined;
  }

  private async unclaim(id: string, claim: QueueClaim | undefined): Promise<void> {
    await claim?.release().catch((err: Error) => this.logger.error({ queueId: id, err: err.message }, 'cannot release the message claim'));
    this.claimed.delete(id);
  }

  private runDomainJob(domain: string, envelopes: Envelope[], rounds: Map<string, RoundRecord>, context: DeliveryContext): Promise<MessageResult[]> {
    const messages: OutgoingMessage[] = envelopes.map((envelope) => {
      const recipients = pendingByDomain(envelope).get(domain) ?? [];
      const round = rounds.get(envelope.id)!;
      return {
        queueId: envelope.id,
        from: envelope.from,
        recipients,
        size: envelope.size,
        dsn: outgoingDsn(envelope),
        extensions: extensionNeeds(envelope, recipients),
        ...(envelope.tlsReport ? { tlsReport: true as const } : {}),
        ...(envelope.requireTls ? { requireTls: envelope.requireTls } : {}),
        openData: () => this.queue.openData(envelope.id),
        attempted: (attempt, policy) => context.observer?.attempted(attempt, policy, envelope.receivedAt),
        recordReplies: ({ result, settled }) =>
          settled
            ? round.finish({ domain, recipients: result.recipients, attempts: result.attempts })
            : round.delivered(
                domain,
                result.recipients.filter((recipient) => recipient.outcome === 'delivered').map((recipient) => recipient.address),
              ),
      };
    });
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

  /** Writes what happened back to the queue: DSNs first, so a crash can repeat one but never lose it. */
  private async settle(original: Envelope, outcomes: DomainOutcome[], context: DeliveryContext, claim: QueueClaim): Promise<void> {
    const now = new Date();
    let envelope = original;
    let finished = false;
    const bounced: ReturnType<typeof recordResults>['bounce'] = [];
    const relayed: ReturnType<typeof recordResults>['relayed'] = [];
    const maxAge = (domain: string): number => selectOutboundConnector(context.config, domain).connector.maxAge;
    for (const outcome of outcomes) {
      const recorded = recordResults(envelope, outcome.recipients, outcome.attempts, {
        now,
        retry: context.config.queue.retry,
        maxAge: maxAge(outcome.domain),
      });
      envelope = recorded.envelope;
      finished = recorded.finished;
      bounced.push(...recorded.bounce);
      relayed.push(...recorded.relayed);
    }
    const delay = decideDelayNotice(envelope, { now, delayNotice: context.config.queue.delayNotice, maxAge });
    envelope = delay.envelope;
    const reports: DsnReport[] = [
      { action: 'failed', recipients: bounced },
      { action: 'delayed', recipients: delay.delayed },
      { action: 'relayed', recipients: relayed },
    ];
    for (const report of reports.filter((r) => r.recipients.length > 0)) {
      const queued = await queueDsn(this.queue, envelope, claim, report, context.config.server.hostname, now);
      const addresses = report.recipients.map((r) => r.address);
      if (queued) {
        const what = { failed: 'bounce queued', delayed: 'delay notice queued', relayed: 'relayed notice queued' }[report.action];
        this.logger.info({ queueId: envelope.id, bounceId: queued.id, action: report.action, to: envelope.from, recipients: addresses.length }, what);
        this.known.set(queued.id, queued);
      } else if (report.action === 'failed') {
        const why = envelope.from === '' ? 'the message is itself a bounce (null sender)' : 'the sender asked for no failure notice (NOTIFY)';
        this.logger.warn({ queueId: envelope.id, recipients: addresses }, `undeliverable; no bounce sent: ${why}`);
      }
    }
    if (finished) {
      await this.queue.remove(envelope.id, claim);
      this.known.delete(envelope.id);
    } else {
      await this.queue.update(envelope, claim);
      this.known.set(envelope.id, envelope);
    }
  }
}

/** The recipients the round's next hops took: they would get the message again if its results are not written. */
function deliveredIn(outcomes: DomainOutcome[]): string[] {
  return outcomes.flatMap((outcome) => outcome.recipients.filter((recipient) => recipient.outcome === 'delivered').map((recipient) => recipient.address));
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
