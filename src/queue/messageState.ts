import type { Envelope } from './types.js';

/** Where a queued message stands: held by an administrator, due for an attempt, or waiting for its next one. */
export type MessageState = 'held' | 'due' | 'deferred';

export function messageState(envelope: Envelope, now: number): MessageState {
  if (envelope.heldAt !== undefined) return 'held';
  return Date.parse(envelope.nextAttemptAt) <= now ? 'due' : 'deferred';
}
