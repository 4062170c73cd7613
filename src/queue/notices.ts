import { lastAttemptFor } from './bookkeeping.js';
import type { DelayedRecipient, DsnReport, Envelope, QueuedRecipient } from './types.js';

// Who is told what by DSN (RFC 3461 NOTIFY), and when a message is late enough for the
// "delayed" notice. Pure: the caller queues the DSN and writes the envelope.

/** RFC 3461 §4.1: the NOTIFY keyword that asks for a DSN with this Action. */
const NOTIFY_KEYWORD: Record<DsnReport['action'], string> = { failed: 'FAILURE', delayed: 'DELAY', relayed: 'SUCCESS' };

/**
 * Whether the recipient's NOTIFY asks for a DSN with this Action. Without NOTIFY the MTA
 * decides, and this one reports failures and delays (as Postfix and Exchange do) but not
 * success; NOTIFY=NEVER, or a list without the action's keyword, means no.
 */
export function notifies(recipient: Pick<QueuedRecipient, 'notify'> | undefined, action: DsnReport['action']): boolean {
  const notify = recipient?.notify;
  if (!notify || notify.length === 0) return action !== 'relayed';
  return notify.some((keyword) => keyword.toUpperCase() === NOTIFY_KEYWORD[action]);
}

const ENHANCED_STATUS = /^(?:\d{3}[ -])?([245])\.(\d{1,3}\.\d{1,3})(?=\s|$)/;

/**
 * The RFC 3463 status a DSN gives for a reply: the reply's enhanced code with its class
 * made `statusClass` (a deferral that expired is a failure, 5, now; a delay notice says 4
 * whatever the reply), else `statusClass`.0.0.
 */
export function statusOfClass(response: string, statusClass: 2 | 4 | 5): string {
  const match = ENHANCED_STATUS.exec(response.trim());
  return `${statusClass}.${match ? match[2] : '0.0'}`;
}

export interface DelayNoticeOptions {
  now: Date;
  /** queue.delayNotice, in ms. */
  delayNotice: number;
  /** maxAge of the outbound connector of a recipient domain, in ms. */
  maxAge: (domain: string) => number;
}

export interface DelayNotice {
  /** The envelope to write back: `delayNoticeSent` once the notice was due, whoever wanted it. */
  envelope: Envelope;
  /** The recipients for the "delayed" DSN; empty when none is to be sent. */
  delayed: DelayedRecipient[];
}

/**
 * After a delivery round: whether the message is due its one "delayed" DSN. It is, once
 * it is older than queue.delayNotice and some recipient is still pending after a deferral
 * — never for the null sender, never a second time. The notice names the deferred
 * recipients whose NOTIFY asks for delays (or who gave no NOTIFY), each with its last
 * deferral and when the relay gives up (arrival + its connector's maxAge). Once due,
 * `delayNoticeSent` is set even when nobody asked for it: the moment has passed.
 */
export function decideDelayNotice(envelope: Envelope, options: DelayNoticeOptions): DelayNotice {
  const none = { envelope, delayed: [] };
  if (envelope.from === '' || envelope.delayNoticeSent === true) return none;
  const now = options.now.getTime();
  const receivedAt = Date.parse(envelope.receivedAt);
  if (now - receivedAt < options.delayNotice) return none;
  const late = envelope.recipients.flatMap((recipient) => {
    if (recipient.state !== 'pending' || recipient.lastError === undefined) return [];
    const giveUpAt = receivedAt + options.maxAge(recipient.domain);
    // past its maxAge it is a failure at its next attempt, not a delay
    return giveUpAt > now ? [{ recipient, lastError: recipient.lastError, giveUpAt }] : [];
  });
  if (late.length === 0) return none;
  const delayed = late
    .filter(({ recipient }) => notifies(recipient, 'delayed'))
    .map(({ recipient, lastError, giveUpAt }): DelayedRecipient => {
      const last = lastAttemptFor(envelope.attempts, recipient.domain);
      return {
        address: recipient.address,
        status: statusOfClass(lastError, 4),
        diagnostic: lastError,
        lastAttemptAt: last?.at ?? options.now.toISOString(),
        ...(last?.host ? { remoteMta: last.host } : {}),
        willRetryUntil: new Date(giveUpAt).toISOString(),
      };
    });
  return { envelope: { ...envelope, delayNoticeSent: true }, delayed };
}
