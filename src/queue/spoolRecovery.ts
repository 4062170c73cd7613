import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { freePath, pathExists } from './durableFile.js';
import { decodeEnvelope } from './envelopeCodec.js';
import { removeIfStale } from './messageLock.js';
import { isQueueId } from './queueId.js';
import { dataPath, envelopeFileName, envelopePath, idOfEnvelopeFile, type SpoolLayout } from './spoolLayout.js';
import type { Envelope } from './types.js';

/**
 * Files in tmp/ and data/ without an envelope younger than this may belong to a store()
 * running right now in another process (the relay, while `tlsrelay queue …` opens the
 * spool): removing them would lose a message about to be accepted. Older ones are
 * leftovers of a crash or of a refused message. Envelopes need no grace: they only ever
 * appear complete (renamed into place), so checking them is safe at any time.
 */
export const LEFTOVER_GRACE_MS = 60 * 60 * 1000;

/**
 * Puts the spool into a state where every envelope in env/ is valid and has its data
 * file: damaged entries go to quarantine/ (warned), stale leftovers are removed. Never
 * throws for a damaged entry; an entry that cannot even be moved is logged and skipped.
 */
export async function recoverSpool(layout: SpoolLayout, logger: Logger): Promise<void> {
  const now = Date.now();
  await removeStale(layout.tmp, await readdir(layout.tmp), now, logger, 'unfinished write');
  await removeStaleLocks(layout, logger);
  for (const entry of await readdir(layout.env, { withFileTypes: true })) await checkEnvelope(layout, entry, logger);
  const committed = new Set((await readdir(layout.env)).map(idOfEnvelopeFile));
  const orphans = (await readdir(layout.data)).filter((name) => !committed.has(name));
  await removeStale(layout.data, orphans, now, logger, 'message file without envelope');
}

async function checkEnvelope(layout: SpoolLayout, entry: Dirent, logger: Logger): Promise<void> {
  const id = idOfEnvelopeFile(entry.name);
  if (!entry.isFile() || !isQueueId(id)) {
    await quarantine(layout, join(layout.env, entry.name), entry.name, 'not an envelope file', logger);
    return;
  }
  const inspected = await inspectEntry(layout, id);
  if (inspected.kind === 'damaged') await quarantineMessage(layout, id, inspected.problem, logger);
}

export type InspectedEntry = { kind: 'sound'; envelope: Envelope } | { kind: 'missing' } | { kind: 'damaged'; problem: string };

/**
 * Whether a committed entry can be delivered: its envelope is valid and its data file has
 * the size the envelope says. 'missing' when it was removed meanwhile.
 */
export async function inspectEntry(layout: SpoolLayout, id: string): Promise<InspectedEntry> {
  let text: string;
  try {
    text = await readFile(envelopePath(layout, id), 'utf8');
  } catch (err) {
    if (isNotFound(err)) return { kind: 'missing' };
    return { kind: 'damaged', problem: `cannot read the envelope: ${(err as Error).message}` };
  }
  const decoded = decodeEnvelope(text, id);
  if (!decoded.ok) return { kind: 'damaged', problem: `damaged envelope: ${decoded.problem}` };
  try {
    const { size } = await stat(dataPath(layout, id));
    if (size !== decoded.envelope.size) return { kind: 'damaged', problem: `message file has ${size} bytes, the envelope says ${decoded.envelope.size}` };
  } catch (err) {
    // A running relay removes envelope, then data: both gone means delivered, not damaged.
    if (isNotFound(err) && !(await pathExists(envelopePath(layout, id)).catch(() => true))) return { kind: 'missing' };
    return { kind: 'damaged', problem: `message file unusable: ${(err as Error).message}` };
  }
  return { kind: 'sound', envelope: decoded.envelope };
}

/** Moves a damaged message out of the queue, with a warning naming the problem. */
export async function quarantineMessage(layout: SpoolLayout, id: string, problem: string, logger: Logger): Promise<void> {
  // Data first: a crash in between leaves an envelope without data, which the next open
  // quarantines too, rather than data without envelope, which would be removed.
  const data = dataPath(layout, id);
  // An error other than 'not there' is for quarantine() to report.
  if (await pathExists(data).catch(() => true)) await quarantine(layout, data, `${id}.eml`, problem, logger, id);
  await quarantine(layout, envelopePath(layout, id), envelopeFileName(id), problem, logger, id);
}

/** Locks left by a process that died (kill -9 mid-delivery); a live holder's stay. */
async function removeStaleLocks(layout: SpoolLayout, logger: Logger): Promise<void> {
  for (const name of await readdir(layout.lock)) {
    const file = join(layout.lock, name);
    try {
      if (await removeIfStale(file, layout.tmp)) logger.info({ file, reason: 'holder gone' }, 'stale message lock removed');
    } catch (err) {
      logger.error({ file, err: (err as Error).message }, 'stale message lock cannot be removed');
    }
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

async function quarantine(layout: SpoolLayout, from: string, name: string, reason: string, logger: Logger, queueId?: string): Promise<void> {
  try {
    // never over an earlier quarantined entry: it may be the only copy of a message
    const to = await freePath(layout.quarantine, name);
    await rename(from, to);
    logger.warn({ queueId, file: from, quarantinedAs: to, reason }, 'damaged spool entry moved to quarantine');
  } catch (err) {
    logger.error({ queueId, file: from, reason, err: (err as Error).message }, 'damaged spool entry cannot be moved to quarantine; it is skipped');
  }
}


async function removeStale(dir: string, names: string[], now: number, logger: Logger, what: string): Promise<void> {
  for (const name of names) {
    const file = join(dir, name);
    try {
      const { mtimeMs } = await lstat(file);
      if (now - mtimeMs < LEFTOVER_GRACE_MS) continue;
      await rm(file, { recursive: true, force: true });
      logger.info({ file, reason: what }, 'spool leftover removed');
    } catch (err) {
      logger.error({ file, reason: what, err: (err as Error).message }, 'spool leftover cannot be removed');
    }
  }
}
