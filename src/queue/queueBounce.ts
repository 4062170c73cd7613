import { Readable } from 'node:stream';
import { buildBounce } from './dsn.js';
import type { Spool } from './spool.js';
import type { BouncedRecipient, Envelope } from './types.js';

/**
 * Builds the DSN telling the sender of `envelope` about `failed` and stores it as a new
 * message; undefined when nobody is to be told (null sender, NOTIFY). Callers store it
 * before they change or remove the original, so a crash can repeat a DSN but never lose it.
 */
export async function queueBounce(spool: Spool, envelope: Envelope, failed: BouncedRecipient[], reportingMta: string, now: Date): Promise<Envelope | undefined> {
  const bounce = await buildBounce(envelope, failed, { reportingMta, now, original: spool.openData(envelope.id) });
  return bounce ? spool.store(bounce.message, Readable.from([bounce.data])) : undefined;
}
