import { Readable } from 'node:stream';
import { buildDsn } from './dsn.js';
import type { MessageQueue, QueueClaim } from './messageQueue.js';
import type { DsnReport, Envelope } from './types.js';

/**
 * Builds the DSN telling the sender of `envelope` what `report` says (failed, delayed or
 * relayed) and stores it as a new message; undefined when nobody is to be told (null
 * sender, NOTIFY). Callers store it before they change or remove the original, so a crash
 * can repeat a DSN but never lose it. `claim` is the original's: a holder that lost it
 * queues no DSN (LostClaimError), the new holder reports what it finds.
 */
export async function queueDsn(queue: MessageQueue, envelope: Envelope, claim: QueueClaim, report: DsnReport, reportingMta: string, now: Date): Promise<Envelope | undefined> {
  const dsn = await buildDsn(envelope, report, { reportingMta, now, original: queue.openData(envelope.id) });
  return dsn ? queue.store(dsn.message, Readable.from([dsn.data]), claim) : undefined;
}
