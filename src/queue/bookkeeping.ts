import { notifies, statusOfClass } from './notices.js';
import { nextRetryDelay } from './retry.js';
import type { AttemptRecord, BouncedRecipient, Envelope, NoticeRecipient, QueuedRecipient, RecipientResult } from './types.js';

export interface RoundOptions {
  now: Date;
  /** queue.retry, in ms. */
  retry: number[];
  /** maxAge of the outbound connector of the recipients in `results`, in ms. */
  maxAge: number;
  random?: () => number;
}

export interface RecordedRound {
  envelope: Envelope;
  /** Recipients that failed for good in this round: the DSN's content. */
  bounce: BouncedRecipient[];
  /**
   * Recipients delivered in this round to a next hop without DSN that asked NOTIFY=SUCCESS:
   * the "relayed" DSN's content (RFC 3461 §5.2.2). Never for the null sender.
   */
  relayed: NoticeRecipient[];
  /** No recipient is pending any more: the message can leave the queue. */
  finished: boolean;
}

/** `notBefore`: of a deferral that has one, in epoch ms. */
type Settled = { recipient: QueuedRecipient; bounce?: BouncedRecipient; relayed?: NoticeRecipient; deferred: boolean; notBefore?: number };

/**
 * Records what one delivery round did for some recipients of a message (typically those
 * of one domain, since maxAge belongs to the domain's connector) and says what happens
 * next. Pure: the caller writes the envelope and sends the bounce.
 *
 * Only pending recipients change: delivered ones are never sent again, bounced ones
 * never bounce twice. A deferral past maxAge becomes a bounce. Calling this once per
 * domain with the same `now` counts as one round: the first deferral of a due message
 * advances the retry schedule, later ones in the same round only keep it (and may bring
 * it forward to their own expiry). A deferral's `notBefore` holds the next attempt back
 * until then, expiry permitting. A delivery to a next hop without DSN is reported as
 * "relayed" to a sender whose recipient asked NOTIFY=SUCCESS.
 */
export function recordResults(envelope: Envelope, results: RecipientResult[], attempts: AttemptRecord[], options: RoundOptions): RecordedRound {
  const now = options.now.getTime();
  const expiresAt = Date.parse(envelope.receivedAt) + options.maxAge;
  const allAttempts = [...envelope.attempts, ...attempts];
  const settled = envelope.recipients.map((recipient): Settled => {
    const result = recipient.state === 'pending' ? results.find((r) => r.address === recipient.address) : undefined;
    if (!result) return { recipient, deferred: false };
    return settle(recipient, result, {
      expired: now >= expiresAt,
      lastAttempt: lastAttemptFor(attempts, recipient.domain),
      attemptCount: allAttempts.filter((attempt) => attempt.domain === recipient.domain).length,
      now: options.now.toISOString(),
      nullSender: envelope.from === '',
    });
  });
  const recipients = settled.map((s) => s.recipient);
  const deferred = settled.some((s) => s.deferred);
  const notBefore = Math.max(0, ...settled.map((s) => s.notBefore ?? 0));
  return {
    envelope: {
      ...envelope,
      recipients,
      attempts: allAttempts,
      ...(deferred ? schedule(envelope, now, expiresAt, options, notBefore) : {}),
    },
    bounce: settled.flatMap((s) => (s.bounce ? [s.bounce] : [])),
    relayed: settled.flatMap((s) => (s.relayed ? [s.relayed] : [])),
    finished: recipients.every((recipient) => recipient.state !== 'pending'),
  };
}

/**
 * The recipients in `addresses` that are still pending, marked delivered — and nothing
 * else changed: a message's deliveries to one domain, written before the round is over.
 */
export function markDelivered(envelope: Envelope, addresses: string[]): Envelope {
  const delivered = new Set(addresses);
  return {
    ...envelope,
    recipients: envelope.recipients.map((recipient) => (recipient.state === 'pending' && delivered.has(recipient.address) ? deliveredRecipient(recipient) : recipient)),
  };
}

interface SettleContext {
  expired: boolean;
  lastAttempt: AttemptRecord | undefined;
  attemptCount: number;
  now: string;
  nullSender: boolean;
}

function settle(recipient: QueuedRecipient, result: RecipientResult, context: SettleContext): Settled {
  switch (result.outcome) {
    case 'delivered': {
      const relayed = result.withoutDsn === true && !context.nullSender && notifies(recipient, 'relayed');
      return { recipient: deliveredRecipient(recipient), deferred: false, ...(relayed ? { relayed: relayedNotice(recipient, result, context) } : {}) };
    }
    case 'bounced':
      return bounced(recipient, result, 'rejected', result.response, context);
    case 'deferred':
      if (!context.expired) {
        return { recipient: { ...recipient, lastError: result.response }, deferred: true, ...(result.notBefore === undefined ? {} : { notBefore: Date.parse(result.notBefore) }) };
      }
      return bounced(recipient, result, 'expired', `giving up after ${context.attemptCount} attempts: ${result.response}`, context);
  }
}

/** What a DSN says of a recipient: the reply as a status of `statusClass`, and the last attempt's host and time. */
function notice(recipient: QueuedRecipient, result: RecipientResult, statusClass: 2 | 5, context: SettleContext): NoticeRecipient {
  const remoteMta = context.lastAttempt?.host ?? undefined;
  return {
    address: recipient.address,
    status: statusOfClass(result.response, statusClass),
    diagnostic: result.response,
    lastAttemptAt: context.lastAttempt?.at ?? context.now,
    ...(remoteMta ? { remoteMta } : {}),
  };
}

/** The next hop's 250, from where we stand: we passed it on, and nobody after us reports its delivery. */
function relayedNotice(recipient: QueuedRecipient, result: RecipientResult, context: SettleContext): NoticeRecipient {
  return notice(recipient, result, 2, context);
}

function bounced(recipient: QueuedRecipient, result: RecipientResult, reason: BouncedRecipient['reason'], lastError: string, context: SettleContext): Settled {
  return {
    recipient: { ...recipient, state: 'bounced', lastError },
    // a failure now (5), with the subject and detail of the reply: an expired 4.7.5 becomes 5.7.5
    bounce: { ...notice(recipient, result, 5, context), reason, attempts: context.attemptCount },
    deferred: false,
  };
}

function deliveredRecipient(recipient: QueuedRecipient): QueuedRecipient {
  const { lastError: _, ...rest } = recipient;
  return { ...rest, state: 'delivered' };
}

/** The next attempt: by the schedule when this call opens a round, not before `notBefore`, never after expiry. */
function schedule(envelope: Envelope, now: number, expiresAt: number, options: RoundOptions, notBefore: number): Pick<Envelope, 'nextAttemptAt' | 'deferrals'> {
  const scheduled = Date.parse(envelope.nextAttemptAt);
  const opensRound = scheduled <= now;
  const deferrals = (envelope.deferrals ?? 0) + (opensRound ? 1 : 0);
  const retryAt = Math.max(opensRound ? now + nextRetryDelay(options.retry, deferrals, options.random) : scheduled, notBefore);
  return { nextAttemptAt: new Date(Math.min(retryAt, expiresAt)).toISOString(), deferrals };
}

/** The last attempt of `attempts` for the domain: the host and time a DSN names. */
export function lastAttemptFor(attempts: AttemptRecord[], domain: string): AttemptRecord | undefined {
  return attempts.filter((attempt) => attempt.domain === domain).at(-1);
}
