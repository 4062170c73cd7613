import { randomBytes } from 'node:crypto';

// 12 hex digits of milliseconds since the epoch (sortable until the year 10889), then 12
// random ones: unique across processes without coordination, and safe as a file name.
const QUEUE_ID = /^[0-9a-f]{24}$/;

export function newQueueId(now: number = Date.now()): string {
  return now.toString(16).padStart(12, '0') + randomBytes(6).toString('hex');
}

export function isQueueId(value: unknown): value is string {
  return typeof value === 'string' && QUEUE_ID.test(value);
}

/** IDs reach the spool from the CLI too: anything else could name a path outside it. */
export function assertQueueId(id: string): void {
  if (!isQueueId(id)) throw new Error(`not a queue ID: ${JSON.stringify(id)} (expected 24 lower-case hex digits)`);
}
