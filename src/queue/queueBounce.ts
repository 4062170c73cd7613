import { Readable } from 'node:stream';
import { buildDsn } from './dsn.js';
import type { MessageLock } from './messageLock.js';
import type { Spool } from './spool.js';
import type { DsnReport, Envelope } from './types.js';

/**
 * Builds the DSN telling the sender of `envelope` what `report` says (failed, delayed or
 * relayed) and stores it as a new message; undefined when nobody is to be told (null
 * sender, NOTIFY). Callers store it before they change or remove the original, so a crash
 * can repeat a DSN but never lose it. `lock` is the original's: a holder that lost it
 * queues no DSN (LostLockError), the new holder reports what it finds.
 */
export async function queueDsn(spool: Spool, envelope: Envelope, lock: MessageLock, report: DsnReport, reportingMta: string, now: Date): Promise<Envelope | undefined> {
  const dsn = await buildDsn(envelope, report, { reportingMta, now, original: spool.openData(envelope.id) });
  return dsn ? spool.store(dsn.message, Readable.from([dsn.data]), lock) : undefined;
}
