/**
 * The store that keeps the queue cannot be reached now (the shared queue's database is
 * down or unreachable): nothing was written, and the same call may succeed later. Intake
 * answers 451 4.3.0 for it and delivery waits; the store logs the outage once, so the
 * callers do not log it again per message.
 */
export class QueueUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueUnavailableError';
  }
}
