import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isClaimStale, newHolder, parseHolder } from './claimLiveness.js';
import { FILE_MODE } from './durableFile.js';
import { CLAIM_REFRESH_MS, type ClaimAttempt, type ClaimHolder, type QueueClaim } from './messageQueue.js';

/**
 * The file spool's claim of a message (messageQueue.ts) is the file lock/<id>.lock, its
 * lock. Every change of a message's envelope — the delivery agent's, from claim to
 * write-back, and each `tlsrelay queue` change — is made by the lock's holder, which
 * reads the envelope afresh under it: no process writes over another's change, whether
 * the relay runs or not.
 *
 * The file appears complete (a finished file linked into place; link fails when the name
 * exists) and names its holder. A holder that dies leaves it behind; it is stale when the
 * holder is known to be dead (same host, no such process — also after a restart that
 * reused our own process ID) or when it was not refreshed for CLAIM_STALE_MS. Holders
 * refresh theirs every CLAIM_REFRESH_MS, so that a holder in another container, whose
 * process IDs mean nothing here, keeps its lock. Locks are never fsync'd: they matter
 * only while their holder lives.
 *
 * A live holder can still lose its lock: frozen (SIGSTOP, a paused VM, a blocked event
 * loop) for longer than CLAIM_STALE_MS, it stops refreshing, and another process — on
 * another host the age is all it can judge by — breaks the lock and takes the message. So
 * every write a holder makes on the message's behalf (envelope, removal, a DSN about it)
 * is preceded by confirm(), last before the rename or unlink, and a holder that finds its
 * lock lost writes nothing (LostClaimError). What remains:
 * - a holder frozen for CLAIM_STALE_MS between its confirm() and its write (a rename a
 *   moment later) still writes over the new holder. Only a store that compares the token
 *   in the write itself closes that (a fencing token: `UPDATE … WHERE lock_token = $1`);
 *   a rename on a shared file system cannot;
 * - confirm() can find the lock moved aside by a taker that then puts it back (a refresh
 *   it saw, in breakStale): the holder then drops results it could have written, which
 *   costs a second delivery, never a message;
 * - hosts judge each other's locks by file times: their clocks must agree to well within
 *   CLAIM_STALE_MS.
 */
type SeenLock = { kind: 'gone' } | { kind: 'found'; text: string; holder: ClaimHolder | undefined; mtimeMs: number };


/** The locks this process holds, by path: refreshed together, and never judged stale by ourselves. */
const held = new Map<string, ClaimHolder>();
let refresher: NodeJS.Timeout | undefined;

/**
 * Takes the lock at `path` unless a live holder has it; breaks a stale one. `tmpDir` is a
 * folder on the same file system for the file being linked into place.
 */
export async function tryLock(path: string, tmpDir: string): Promise<ClaimAttempt> {
  // More than one round only when a stale lock was broken, or a lock went away between looks.
  for (let round = 0; round < 3; round++) {
    const holder = newHolder(randomBytes(8).toString('hex'));
    if (await create(path, tmpDir, holder)) return { kind: 'claimed', claim: keep(path, holder) };
    const seen = await look(path);
    if (seen.kind === 'gone') continue;
    if (!isStale(path, seen, Date.now())) return { kind: 'busy', holder: seen.holder };
    await breakStale(path, tmpDir, seen);
  }
  return { kind: 'busy', holder: undefined };
}

/** Removes the lock at `path` if it is stale (spool recovery). */
export async function removeIfStale(path: string, tmpDir: string): Promise<boolean> {
  const seen = await look(path);
  if (seen.kind === 'gone' || !isStale(path, seen, Date.now())) return false;
  await breakStale(path, tmpDir, seen);
  return true;
}

async function create(path: string, tmpDir: string, holder: ClaimHolder): Promise<boolean> {
  const draft = join(tmpDir, `${basename(path)}.${holder.token}`);
  await writeFile(draft, JSON.stringify(holder), { flag: 'wx', mode: FILE_MODE });
  try {
    await link(draft, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(draft, { force: true });
  }
}

/**
 * confirm() refreshes the lock, then reads its token back. Refreshing first matters: a
 * taker that judged the lock stale before the refresh sees it fresh when it moves it
 * aside (breakStale) and puts it back. A lock found lost is never refreshed again.
 */
function keep(path: string, holder: ClaimHolder): QueueClaim {
  held.set(path, holder);
  refresher ??= setInterval(refreshAll, CLAIM_REFRESH_MS).unref();
  return {
    async confirm() {
      const ours = held.get(path) === holder;
      if (ours) {
        const now = new Date();
        try {
          await utimes(path, now, now);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      const seen = await look(path);
      if (ours && seen.kind === 'found' && seen.holder?.token === holder.token) return { kind: 'held' };
      forget(path, holder);
      return { kind: 'lost', holder: seen.kind === 'found' ? seen.holder : undefined };
    },
    async release() {
      if (held.get(path) !== holder) return;
      forget(path, holder);
      // Had we been taken for dead (a stall longer than CLAIM_STALE_MS), the file may be a new holder's now.
      const seen = await look(path);
      if (seen.kind === 'found' && seen.holder?.token === holder.token) await rm(path, { force: true });
    },
  };
}

function forget(path: string, holder: ClaimHolder): void {
  if (held.get(path) !== holder) return;
  held.delete(path);
  if (held.size === 0) {
    clearInterval(refresher);
    refresher = undefined;
  }
}

function refreshAll(): void {
  const now = new Date();
  for (const path of held.keys()) void utimes(path, now, now).catch(() => undefined);
}

async function look(path: string): Promise<SeenLock> {
  try {
    const [text, { mtimeMs }] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { kind: 'found', text, holder: parseHolder(parsedJson(text)), mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
}

/** The lock's text as JSON; create() never leaves one that is not, so such a lock was damaged from outside (no holder: stale). */
function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The lock's time is its refresh: holders touch it (utimes). */
function isStale(path: string, seen: Extract<SeenLock, { kind: 'found' }>, now: number): boolean {
  const { holder } = seen;
  return isClaimStale(holder, seen.mtimeMs, holder !== undefined && held.get(path)?.token === holder.token, now);
}

/**
 * Moves the stale lock aside and checks it is the one judged: if another process broke
 * and took it in between, its fresh lock was moved instead and goes back; so does one its
 * holder refreshed meanwhile (alive after all: a refresh, or confirm() before a write).
 */
async function breakStale(path: string, tmpDir: string, judged: Extract<SeenLock, { kind: 'found' }>): Promise<void> {
  const aside = join(tmpDir, `${basename(path)}.${randomBytes(8).toString('hex')}.stale`);
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const [text, { mtimeMs }] = await Promise.all([readFile(aside, 'utf8'), stat(aside)]);
    if (text !== judged.text || mtimeMs !== judged.mtimeMs) await link(aside, path).catch(() => undefined);
  } finally {
    await rm(aside, { force: true });
  }
}
