import type { Envelope } from './types.js';

/** Where a queued message stands: held by an administrator, due for an attempt, or waiting for its next one. */
export type MessageState = 'held' | 'due' | 'deferred';

export function messageState(envelope: Envelope, now: number): MessageState {
  if (envelope.heldAt !== undefined) return 'held';
  return Date.parse(envelope.nextAttemptAt) <= now ? 'due' : 'deferred';
}

/** The queue by state, and when its oldest message arrived (epoch ms; undefined when empty). */
export interface QueueCounts {
  byState: Record<MessageState, number>;
  oldestReceivedAt: number | undefined;
}

export function countQueue(envelopes: Iterable<Envelope>, now: number): QueueCounts {
  const byState: Record<MessageState, number> = { due: 0, deferred: 0, held: 0 };
  let oldestReceivedAt: number | undefined;
  for (const envelope of envelopes) {
    byState[messageState(envelope, now)]++;
    const receivedAt = Date.parse(envelope.receivedAt);
    if (oldestReceivedAt === undefined || receivedAt < oldestReceivedAt) oldestReceivedAt = receivedAt;
  }
  return { byState, oldestReceivedAt };
}
