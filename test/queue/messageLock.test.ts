import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { removeIfStale, tryLock } from '../../src/queue/messageLock.js';
import { CLAIM_STALE_MS, type ClaimHolder } from '../../src/queue/messageQueue.js';

function lockDir(t: Test): { path: string; tmp: string } {
  const dir = t.testdir({ lock: {}, tmp: {} });
  return { path: join(dir, 'lock', '0123456789abcdef01234567.lock'), tmp: join(dir, 'tmp') };
}

/** The ID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

function holderFile(holder: Partial<ClaimHolder>): string {
  return JSON.stringify({ pid: process.ppid, host: hostname(), token: 'feedfeedfeedfeed', since: new Date().toISOString(), ...holder });
}

t.test('one holder at a time; the busy answer names the holder; release frees it', async (t) => {
  const { path, tmp } = lockDir(t);
  const first = await tryLock(path, tmp);
  if (first.kind !== 'claimed') throw new Error('the first taker must get the lock');
  const second = await tryLock(path, tmp);
  t.equal(second.kind, 'busy', 'a second taker (even in the same process) is refused');
  t.match(second, { holder: { pid: process.pid, host: hostname() } });
  t.same(await readdir(tmp), [], 'no draft file is left behind');
  await first.claim.release();
  const third = await tryLock(path, tmp);
  t.equal(third.kind, 'claimed', 'taken again after release');
  if (third.kind === 'claimed') await third.claim.release();
  await first.claim.release();
  t.same(await readdir(join(path, '..')), [], 'released twice: the second release is a no-op');
});

t.test('a lock whose holder is alive is respected', async (t) => {
  const { path, tmp } = lockDir(t);
  const lock = holderFile({ pid: process.ppid });
  await writeFile(path, lock);
  t.match(await tryLock(path, tmp), { kind: 'busy', holder: { pid: process.ppid } });
  t.equal(await removeIfStale(path, tmp), false);
  t.equal(await readFile(path, 'utf8'), lock, 'left as it was');
});

t.test('a lock whose holder died is broken and taken', async (t) => {
  const { path, tmp } = lockDir(t);
  await writeFile(path, holderFile({ pid: await deadPid() }));
  const attempt = await tryLock(path, tmp);
  t.equal(attempt.kind, 'claimed');
  t.match(JSON.parse(await readFile(path, 'utf8')), { pid: process.pid }, 'the lock is ours now');
  if (attempt.kind === 'claimed') await attempt.claim.release();
  t.same(await readdir(tmp), [], 'the broken lock is not kept');
});

t.test('our own process ID on a lock we do not hold: a predecessor that had it (container restart)', async (t) => {
  const { path, tmp } = lockDir(t);
  await writeFile(path, holderFile({ pid: process.pid }));
  t.equal((await tryLock(path, tmp)).kind, 'claimed');
});

t.test('a holder on another host is judged by the age of its lock only', async (t) => {
  const { path, tmp } = lockDir(t);
  await writeFile(path, holderFile({ pid: await deadPid(), host: 'other-container' }));
  t.equal((await tryLock(path, tmp)).kind, 'busy', 'its process IDs mean nothing here: a fresh lock stays');
  const old = new Date(Date.now() - CLAIM_STALE_MS - 5_000);
  await utimes(path, old, old);
  t.equal(await removeIfStale(path, tmp), true, 'not refreshed for CLAIM_STALE_MS: stale');
  t.same(await readdir(join(path, '..')), []);
});

t.test('an unreadable lock file is stale', async (t) => {
  const { path, tmp } = lockDir(t);
  await writeFile(path, 'garbage');
  t.equal((await tryLock(path, tmp)).kind, 'claimed');
});

/** What another process leaves after breaking a lock it judged stale and taking it: its own file. */
async function takenOverBy(path: string, host: string): Promise<void> {
  await writeFile(path, holderFile({ pid: process.ppid, host, token: 'beefbeefbeefbeef' }));
}

t.test('confirm: a lock still ours is refreshed and reported held', async (t) => {
  const { path, tmp } = lockDir(t);
  const attempt = await tryLock(path, tmp);
  if (attempt.kind !== 'claimed') throw new Error('the lock must be free');
  // as a holder frozen for a while would have left it
  const old = new Date(Date.now() - CLAIM_STALE_MS / 2);
  await utimes(path, old, old);
  t.same(await attempt.claim.confirm(), { kind: 'held' });
  t.ok((await stat(path)).mtimeMs > old.getTime() + 1_000, 'refreshed by the check');
  await attempt.claim.release();
  t.same(await attempt.claim.confirm(), { kind: 'lost', holder: undefined }, 'a released lock proves nothing');
  t.same(await readdir(join(path, '..')), [], 'and is not made again');
});

t.test('confirm: a lock another process took over is lost, and stays that process\'s', async (t) => {
  const { path, tmp } = lockDir(t);
  const attempt = await tryLock(path, tmp);
  if (attempt.kind !== 'claimed') throw new Error('the lock must be free');
  await takenOverBy(path, 'relay-b');
  const taken = await readFile(path, 'utf8');
  t.match(await attempt.claim.confirm(), { kind: 'lost', holder: { host: 'relay-b', token: 'beefbeefbeefbeef' } });
  await attempt.claim.release();
  t.equal(await readFile(path, 'utf8'), taken, 'release leaves the new holder\'s lock alone');
});

t.test('confirm: a lock that is gone is lost, and not made again', async (t) => {
  const { path, tmp } = lockDir(t);
  const attempt = await tryLock(path, tmp);
  if (attempt.kind !== 'claimed') throw new Error('the lock must be free');
  // broken by another process that has since finished with the message
  await rm(path);
  t.same(await attempt.claim.confirm(), { kind: 'lost', holder: undefined });
  t.same(await readdir(join(path, '..')), [], 'no lock file appears');
});
