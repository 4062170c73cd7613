import { countQueue, messageState, type MessageState } from '../../queue/messageState.js';
import type { Envelope } from '../../queue/types.js';

// The queue as the dashboard shows it: how many messages in each state, how old the
// oldest is, and the deferred ones with the reply that deferred them — what an operator
// asks first when a partner says mail is missing.

/** The deferred messages listed, oldest first; the rest are counted. */
export const DEFERRED_SHOWN = 50;

export interface DeferredMessage {
  id: string;
  receivedAt: string;
  ageSeconds: number;
  /** '' for the null sender. */
  from: string;
  /** Recipients still waiting. */
  pending: string[];
  attempts: number;
  nextAttemptAt: string;
  /** The reply or reason of the last attempt that did not deliver. */
  lastReply: string | null;
}

export interface QueueView {
  total: number;
  byState: Record<MessageState, number>;
  /** null when the queue is empty. */
  oldestAgeSeconds: number | null;
  deferred: DeferredMessage[];
  /** Deferred messages beyond DEFERRED_SHOWN. */
  deferredNotShown: number;
}

const secondsSince = (then: number, now: number): number => Math.max(0, Math.floor((now - then) / 1000));

function deferredMessage(envelope: Envelope, now: number): DeferredMessage {
  return {
    id: envelope.id,
    receivedAt: envelope.receivedAt,
    ageSeconds: secondsSince(Date.parse(envelope.receivedAt), now),
    from: envelope.from,
    pending: envelope.recipients.filter((recipient) => recipient.state === 'pending').map((recipient) => recipient.address),
    attempts: envelope.attempts.length,
    nextAttemptAt: envelope.nextAttemptAt,
    lastReply: envelope.attempts.filter((attempt) => attempt.outcome !== 'delivered').at(-1)?.response ?? null,
  };
}

/** `envelopes`: the queue's listing (any order). */
export function queueView(envelopes: readonly Envelope[], now: number): QueueView {
  const { byState, oldestReceivedAt } = countQueue(envelopes, now);
  const deferred = envelopes
    .filter((envelope) => messageState(envelope, now) === 'deferred')
    .sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt));
  return {
    total: envelopes.length,
    byState,
    oldestAgeSeconds: oldestReceivedAt === undefined ? null : secondsSince(oldestReceivedAt, now),
    deferred: deferred.slice(0, DEFERRED_SHOWN).map((envelope) => deferredMessage(envelope, now)),
    deferredNotShown: Math.max(0, deferred.length - DEFERRED_SHOWN),
  };
}
