// What is particular to the LMDB store (the contract suite covers the rest): a crash
// between a message's pieces and its envelope, a full disk, damaged entries, claims of
// holders that are gone, the refresh of a held claim, a 50 MB message.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { createLogger } from '../../src/log.js';
import { LmdbQueue } from '../../src/queue/lmdb/lmdbQueue.js';
import { CHUNK_BYTES, openLmdbStore, type LmdbStore } from '../../src/queue/lmdb/lmdbStore.js';
import { LEFTOVER_GRACE_MS } from '../../src/queue/spoolRecovery.js';
import type { NewMessage } from '../../src/queue/types.js';
import { capturingLogger } from '../helpers/capturingLogger.js';
import { bytesOf } from '../helpers/queueStores.js';
import { until } from '../helpers/until.js';

const message: NewMessage = { from: 'alice@a.test', recipients: [{ address: 'bob@b.test', domain: 'b.test' }] };
const text = 'Subject: hi\r\n\r\nbody\r\n';
const src = (file: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${file}`, import.meta.url)));
const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

/** The raw store in `dir`, for looking at or damaging what the queue keeps; closed when the test ends. */
async function rawStore(t: Test, dir: string): Promise<LmdbStore> {
  const store = await openLmdbStore(join(dir, 'lmdb'));
  t.teardown(() => store.root.close());
  return store;
}

/** Runs `script` (plain JavaScript; the sources it imports go through the TypeScript loader) with `args`, optionally prefixed (unshare …). */
function runChild(command: string[], script: string, args: string[], onLine?: (line: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const loader = import.meta.resolve('@tapjs/typescript/import');
  const [program, ...rest] = [...command, process.execPath, `--import=${loader}`, script, ...args];
  const child = spawn(program!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const line of chunk.toString().split('\n').filter(Boolean)) onLine?.(line, () => child.kill('SIGKILL'));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

// Stores a message whose client stalls once two pieces are committed: killed there, the
// process leaves pieces without an envelope.
const stalledStore = `
import { Readable } from 'node:stream';
import { createLogger } from ${src('log.js')};
import { LmdbQueue } from ${src('queue/lmdb/lmdbQueue.js')};
import { openLmdbStore } from ${src('queue/lmdb/lmdbStore.js')};
const queue = await LmdbQueue.open(process.argv[2], createLogger('silent'));
const raw = await openLmdbStore(process.argv[2] + '/lmdb');
setInterval(() => undefined, 1000);
const source = Readable.from((async function* () {
  yield Buffer.alloc(700_000, 'a');
  // the stream reads ahead of the store: wait until the store has committed two pieces
  while ([...raw.chunks.getKeys()].length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  process.stdout.write('pieces committed\\n');
  await new Promise(() => undefined);
})());
await queue.store({ from: 'alice@a.test', recipients: [{ address: 'bob@b.test', domain: 'b.test' }] }, source);
`;

t.test('kill -9 between the pieces and the envelope: nothing is listed, and the pieces go once they are old', async (t) => {
  const dir = t.testdir();
  const script = join(dir, 'stalled.mjs');
  await writeFile(script, stalledStore);
  const run = await runChild([], script, [dir], (line, kill) => line === 'pieces committed' && kill());
  t.equal(run.signal, 'SIGKILL', `killed mid-store ${run.stderr}`);

  const raw = await rawStore(t, dir);
  const [leftover, ...more] = [...raw.writing.getKeys()];
  t.same(more, [], 'one store was under way');
  t.same([...raw.chunks.getKeys()], [
    [leftover, 0],
    [leftover, 1],
  ], 'its first two pieces were committed');

  const { logger, lines } = capturingLogger();
  const queue = await LmdbQueue.open(dir, logger);
  t.teardown(() => queue.close());
  t.same(await queue.list(), [], 'nothing is listed');
  t.equal(await queue.read(leftover!), undefined);
  await t.rejects(bytesOf(queue.openData(leftover!)), /not in the queue/);
  t.equal([...raw.chunks.getKeys()].length, 2, 'young pieces stay: they may be a store running in another process');

  await raw.writing.put(leftover!, Date.now() - LEFTOVER_GRACE_MS - 60_000);
  const later = await LmdbQueue.open(dir, logger);
  t.teardown(() => later.close());
  t.same([...raw.chunks.getKeys()], [], 'old ones are removed at open');
  t.same([...raw.writing.getKeys()], []);
  t.match(lines, [{ msg: 'spool leftover removed', queueId: leftover, pieces: 2, reason: 'message data without envelope' }]);
  t.same((await later.store(message, Readable.from([text]))).size, text.length, 'and the store takes messages as before');
});

// Inside a 1 MB tmpfs: a message too big for the disk fails in its pieces, then messages
// of one piece fill it until the commit of a piece with its envelope fails.
const fullDisk = `
import { Readable } from 'node:stream';
import { createLogger } from ${src('log.js')};
import { LmdbQueue } from ${src('queue/lmdb/lmdbQueue.js')};
import { openLmdbStore } from ${src('queue/lmdb/lmdbStore.js')};
const dir = process.argv[2];
const message = { from: 'alice@a.test', recipients: [{ address: 'bob@b.test', domain: 'b.test' }] };
const queue = await LmdbQueue.open(dir, createLogger('silent'));
const kept = await queue.store(message, Readable.from([Buffer.alloc(100_000, 'k')]));
const attempt = (bytes) => queue.store(message, Readable.from((function* () {
  for (let sent = 0; sent < bytes; sent += 4096) yield Buffer.alloc(Math.min(4096, bytes - sent), 'x');
})())).then((envelope) => envelope.id, (err) => ({ failed: err.message }));
const raw = await openLmdbStore(dir + '/lmdb');
const contents = () => ({ envelopes: [...raw.envelopes.getKeys()], pieces: [...new Set([...raw.chunks.getKeys()].map(([id]) => id))], writing: [...raw.writing.getKeys()] });
const tooBig = await attempt(4 * 1024 * 1024);
const afterTooBig = contents();
const fitting = [];
let last;
for (;;) {
  last = await attempt(200_000);
  if (typeof last !== 'string') break;
  fitting.push(last);
}
const afterFull = contents();
const listed = (await queue.list()).map((envelope) => envelope.id);
process.stdout.write(JSON.stringify({ kept: kept.id, tooBig, afterTooBig, fitting, last, afterFull, listed }));
`;

t.test('a full disk rejects store() cleanly, in the pieces and in the envelope commit', { skip: canMount ? false : 'needs root and unshare -m to mount a small tmpfs' }, async (t) => {
  const dir = t.testdir();
  const mountPoint = join(dir, 'spool');
  await writeFile(join(dir, 'full.mjs'), fullDisk);
  await mkdir(mountPoint);
  const run = await runChild(['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"', 'sh', mountPoint], join(dir, 'full.mjs'), [mountPoint]);
  // an unhandled rejection would have ended the child with an error instead
  t.equal(run.code, 0, run.code === 0 ? 'the process ended normally' : run.stderr);
  const report = JSON.parse(run.stdout) as {
    kept: string;
    tooBig: { failed: string };
    afterTooBig: Record<string, string[]>;
    fitting: string[];
    last: { failed: string };
    afterFull: Record<string, string[]>;
    listed: string[];
  };
  const failure = /^the queue store could not commit: .+; \d+ bytes are free on its disk$/;
  t.match(report.tooBig, { failed: failure }, 'the message that does not fit is refused, saying why');
  t.same(report.afterTooBig, { envelopes: [report.kept], pieces: [report.kept], writing: [] }, 'nothing of it is left');
  t.match(report.last, { failed: failure }, 'the disk filled up at the commit of a piece with its envelope');
  const stored = [report.kept, ...report.fitting];
  t.same(report.afterFull, { envelopes: stored, pieces: stored, writing: [] }, 'nothing of that one is left either');
  t.same(report.listed, stored, 'every message that was stored is listed');
  t.match(run.stderr, /Input\/output error/, 'lmdb-js prints the failed commits to stderr (README says so)');
});

t.test('damaged entries go to quarantine/ as files, envelope and bytes as they were', async (t) => {
  const dir = t.testdir();
  const { logger, lines } = capturingLogger();
  const queue = await LmdbQueue.open(dir, logger);
  t.teardown(() => queue.close());
  const raw = await rawStore(t, dir);
  const garbled = await queue.store(message, Readable.from([text]));
  const cut = await queue.store(message, Readable.from([Buffer.alloc(600_000, 'c')]));
  const sound = await queue.store(message, Readable.from([text]));
  await raw.envelopes.put(garbled.id, '{"id": garbage');
  await raw.chunks.remove([cut.id, 1]);

  t.same((await queue.list()).map((envelope) => envelope.id), [cut.id, sound.id], 'list leaves the garbled envelope out');
  t.same(await readFile(join(dir, 'quarantine', `${garbled.id}.json`), 'utf8'), '{"id": garbage', 'quarantined as it was found');
  t.equal(await readFile(join(dir, 'quarantine', `${garbled.id}.eml`), 'utf8'), text, 'with its bytes');
  t.equal(raw.envelopes.get(garbled.id), undefined, 'and out of the store');

  const claim = await queue.claim(cut.id);
  t.equal(claim.kind, 'claimed');
  const checked = await queue.check(cut.id);
  t.same(checked, { kind: 'quarantined', problem: `message data has ${600_000 - 256 * 1024} bytes, the envelope says 600000` }, 'a piece gone: check quarantines it');
  t.same((await readdir(join(dir, 'quarantine'))).sort(), [`${cut.id}.eml`, `${cut.id}.json`, `${garbled.id}.eml`, `${garbled.id}.json`].sort());
  t.same([...raw.chunks.getKeys()].map(([id]) => id), [sound.id], 'the pieces of both left the store');
  t.same((await queue.list()).map((envelope) => envelope.id), [sound.id], 'the sound message stays');
  t.match(
    lines.filter((line) => line.msg === 'damaged spool entry moved to quarantine'),
    [{ queueId: garbled.id, reason: /^damaged envelope: not JSON/ }, { queueId: cut.id, reason: /^message data has/ }],
  );
});

t.test('a claim whose holder is gone (same host, no such process) is taken over at once, and removed at open', async (t) => {
  const dir = t.testdir();
  const queue = await LmdbQueue.open(dir, createLogger('silent'));
  const { id } = await queue.store(message, Readable.from([text]));
  await queue.close();
  const raw = await rawStore(t, dir);
  // a relay killed with kill -9 mid-delivery leaves its claim; its process is gone
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const gone = { pid: Number(dead.stdout), host: hostname(), token: 'a-relay-killed', since: new Date().toISOString(), refreshedAt: Date.now() };
  await raw.claims.put(id, gone, 7);

  const taking = await LmdbQueue.open(dir, createLogger('silent'));
  t.teardown(() => taking.close());
  t.same([...raw.claims.getKeys()], [], 'open removes the claim of a holder that is gone');
  await raw.claims.put(id, gone, 8);
  const attempt = await taking.claim(id);
  t.equal(attempt.kind, 'claimed', 'and claim() takes it over at once, without waiting for the stale age');
  t.match(raw.claims.get(id), { pid: process.pid, host: hostname() }, "the claim is this process's now");
});

t.test('a held claim is refreshed every CLAIM_REFRESH_MS: a new version and time in its record, and the holder writes on under it', async (t) => {
  const dir = t.testdir();
  const queue = await LmdbQueue.open(dir, createLogger('silent'));
  t.teardown(() => queue.close());
  const raw = await rawStore(t, dir);
  const stored = await queue.store(message, Readable.from([text]));
  const attempt = await queue.claim(stored.id);
  if (attempt.kind !== 'claimed') throw new Error('claimed already');
  const taken = raw.claims.getEntry(stored.id)!;
  // the refresh timer is the event waited for (tap's timeout guards it)
  await until(() => raw.claims.getEntry(stored.id)?.version !== taken.version, 200);
  const refreshed = raw.claims.getEntry(stored.id)!;
  t.equal(refreshed.value.token, taken.value.token, 'the same claim');
  t.ok(refreshed.value.refreshedAt > taken.value.refreshedAt, 'refreshed later');
  t.same(await attempt.claim.confirm(), { kind: 'held' });
  await queue.update({ ...stored, deferrals: 1 }, attempt.claim);
  t.equal((await queue.read(stored.id))?.deferrals, 1, 'an update under the refreshed claim is written');
  await attempt.claim.release();
  t.same([...raw.claims.getKeys()], [], 'and released, the record is gone');
});

t.test('a 50 MB message is stored as it arrives: never more than a piece or two of it uncommitted', async (t) => {
  const dir = t.testdir();
  const queue = await LmdbQueue.open(dir, createLogger('silent'));
  t.teardown(() => queue.close());
  const raw = await rawStore(t, dir);
  const size = 50 * 1024 * 1024;
  const piece = 64 * 1024;
  const committedBytes = (): number => {
    const [id] = [...raw.writing.getKeys()];
    return id === undefined ? 0 : [...raw.chunks.getKeys({ start: [id, 0], end: [id, Number.MAX_SAFE_INTEGER] })].reduce((sum, key) => sum + raw.chunks.getBinaryFast(key)!.length, 0);
  };
  let sent = 0;
  let mostAhead = 0;
  const sentHash = createHash('sha256');
  const source = Readable.from(
    (function* () {
      for (let n = 0; sent < size; n++) {
        const bytes = Buffer.alloc(piece, n % 251);
        sentHash.update(bytes);
        sent += bytes.length;
        mostAhead = Math.max(mostAhead, sent - committedBytes());
        yield bytes;
      }
    })(),
  );
  const stored = await queue.store(message, source);
  t.equal(stored.size, size);
  // what the stream reads ahead (16 pieces) plus the piece being filled and the one being committed
  t.ok(mostAhead <= 16 * piece + 2 * CHUNK_BYTES, `at most ${mostAhead} bytes were read and not yet committed`);
  const readHash = createHash('sha256');
  for await (const chunk of queue.openData(stored.id)) readHash.update(chunk as Buffer);
  t.equal(readHash.digest('hex'), sentHash.digest('hex'), 'read back byte for byte, piece by piece');
});
