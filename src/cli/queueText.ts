import { messageState, type MessageState } from '../queue/messageState.js';
import type { AttemptRecord, Envelope, QueuedRecipient } from '../queue/types.js';
import { durationText } from '../config/duration.js';

/** One queued message as `queue list` shows it; `--json` prints these as they are. */
export interface MessageSummary {
  id: string;
  receivedAt: string;
  ageSeconds: number;
  from: string;
  state: MessageState;
  nextAttemptAt: string;
  heldAt?: string;
  attempts: number;
  recipients: Array<Pick<QueuedRecipient, 'address' | 'domain' | 'state' | 'lastError'>>;
  /** The reply or reason of the last attempt that did not deliver, if any. */
  lastError: string | null;
}

export function summarize(envelope: Envelope, now: number): MessageSummary {
  return {
    id: envelope.id,
    receivedAt: envelope.receivedAt,
    ageSeconds: Math.max(0, Math.floor((now - Date.parse(envelope.receivedAt)) / 1000)),
    from: envelope.from,
    state: messageState(envelope, now),
    nextAttemptAt: envelope.nextAttemptAt,
    ...(envelope.heldAt !== undefined ? { heldAt: envelope.heldAt } : {}),
    attempts: envelope.attempts.length,
    recipients: envelope.recipients.map(({ address, domain, state, lastError }) => ({ address, domain, state, ...(lastError !== undefined ? { lastError } : {}) })),
    lastError: lastFailure(envelope.attempts)?.response ?? null,
  };
}

/** Whether the message still waits to be delivered to someone in `domain`. */
export function waitsFor(envelope: Envelope, domain: string): boolean {
  return envelope.recipients.some((recipient) => recipient.state === 'pending' && recipient.domain === domain);
}

function lastFailure(attempts: AttemptRecord[]): AttemptRecord | undefined {
  return attempts.filter((attempt) => attempt.outcome !== 'delivered').at(-1);
}

/** `<a@b.test>`, and `<>` for the null sender: the form mail admins know from Postfix. */
export function sender(from: string): string {
  return `<${from}>`;
}

/** When the message will be tried, in words: "held since …", "due now", "deferred, next attempt … (in 4m)". */
export function stateText(envelope: Envelope, now: number): string {
  switch (messageState(envelope, now)) {
    case 'held':
      return `held since ${envelope.heldAt} (${durationText(now - Date.parse(envelope.heldAt ?? ''))} ago)`;
    case 'due':
      return 'due now';
    case 'deferred':
      return `deferred, next attempt ${envelope.nextAttemptAt} (in ${durationText(Date.parse(envelope.nextAttemptAt) - now)})`;
  }
}
