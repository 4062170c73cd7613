import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { createLogger } from '../../src/log.js';
import type { QueueClaim } from '../../src/queue/messageQueue.js';
import { Spool } from '../../src/queue/spool.js';
import type { NewMessage } from '../../src/queue/types.js';

const logger = createLogger('silent');

const message: NewMessage = {
  from: 'alice@a.test',
  recipients: [
    { address: 'bob@b.test', domain: 'b.test', notify: ['FAILURE'], orcpt: 'rfc822;bob@b.test' },
    { address: 'carol@c.test', domain: 'c.test' },
  ],
  ret: 'HDRS',
  envid: 'env-1',
};

const body = 'Subject: hello\r\nFrom: alice@a.test\r\n\r\nHi Bob.\r\n';

async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A source that sends `first`, then fails the way inbound fails a message (too big, bare LF). */
function failingSource(first: string, error: Error): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(first);
      throw error;
    })(),
  );
}

/** The message's claim (its lock file), which every change of it needs; released when the test ends. */
async function claimOf(t: Test, spool: Spool, id: string): Promise<QueueClaim> {
  const attempt = await spool.claim(id);
  if (attempt.kind !== 'claimed') throw new Error(`${id} is claimed already`);
  t.teardown(() => attempt.claim.release());
  return attempt.claim;
}

async function assertSpoolEmpty(t: Test, spool: Spool, dir: string): Promise<void> {
  t.same(await spool.list(), [], 'no message is listed');
  for (const folder of ['tmp', 'data', 'env']) t.same(await filesIn(join(dir, folder)), [], `${folder}/ is empty`);
}

t.test('open creates the spool folders', async (t) => {
  const dir = join(t.testdir(), 'deep', 'spool');
  await Spool.open(dir, logger);
  t.same(await filesIn(dir), ['control', 'data', 'env', 'lock', 'quarantine', 'tmp']);
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'only the relay user can read mail');
});

t.test('open fails with a clear message when the spool cannot be created', async (t) => {
  const dir = t.testdir({ blocker: 'a file where a folder should be' });
  await t.rejects(Spool.open(join(dir, 'blocker', 'spool'), logger), /cannot open the spool at .*blocker.*spool/);
});

t.test('store, read, list, openData, update, remove round trip', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const before = Date.now();
  const stored = await spool.store(message, Readable.from([Buffer.from(body.slice(0, 10)), Buffer.from(body.slice(10))]));

  t.match(stored.id, /^[0-9a-f]{24}$/);
  t.equal(stored.from, 'alice@a.test');
  t.equal(stored.size, Buffer.byteLength(body));
  t.equal(stored.ret, 'HDRS');
  t.equal(stored.envid, 'env-1');
  t.equal(stored.deferrals, 0);
  t.same(stored.attempts, []);
  t.equal(stored.body, undefined, 'no BODY= given');
  t.equal(stored.smtputf8, undefined, 'no SMTPUTF8 given');
  t.same(stored.content, { header: '7bit', body: '7bit' });
  t.same(
    stored.recipients.map((r) => [r.address, r.domain, r.state, r.notify, r.orcpt]),
    [
      ['bob@b.test', 'b.test', 'pending', ['FAILURE'], 'rfc822;bob@b.test'],
      ['carol@c.test', 'c.test', 'pending', undefined, undefined],
    ],
  );
  t.equal(stored.nextAttemptAt, stored.receivedAt, 'due at once');
  t.ok(Date.parse(stored.receivedAt) >= before - 1 && Date.parse(stored.receivedAt) <= Date.now() + 1);

  t.same(await spool.read(stored.id), stored);
  t.same(await spool.list(), [stored]);
  t.equal(await readAll(spool.openData(stored.id)), body);
  t.equal((await stat(join(dir, 'data', stored.id))).mode & 0o777, 0o600);

  const updated = {
    ...stored,
    recipients: stored.recipients.map((r) => (r.address === 'bob@b.test' ? { ...r, state: 'delivered' as const } : r)),
    deferrals: 1,
  };
  const claim = await claimOf(t, spool, stored.id);
  await spool.update(updated, claim);
  t.same(await spool.read(stored.id), updated);
  t.same(await filesIn(join(dir, 'tmp')), [], 'no tmp file is left by update');

  await spool.remove(stored.id, claim);
  t.equal(await spool.read(stored.id), undefined);
  await assertSpoolEmpty(t, spool, dir);
  await spool.remove(stored.id, claim);
  t.pass('removing twice is harmless');
});

t.test('BODY=, SMTPUTF8 and what the stored bytes are made of are kept in the envelope', async (t) => {
  const spool = await Spool.open(t.testdir(), logger);
  const international: NewMessage = { ...message, body: '8BITMIME', smtputf8: true };
  const data = Buffer.from('Subject: Grüße\r\n\r\nGrüße\r\n', 'utf8');
  // the empty line split across two chunks
  const stored = await spool.store(international, Readable.from([data.subarray(0, 16), data.subarray(16)]));
  t.equal(stored.body, '8BITMIME');
  t.equal(stored.smtputf8, true);
  t.same(stored.content, { header: '8bit', body: '8bit' });
  t.same(await spool.read(stored.id), stored, 'as read back from disk');

  const bodyOnly = await spool.store({ ...message, body: '7BIT' }, Readable.from([Buffer.from('Subject: x\r\n\r\nGr\xfc\xdfe\r\n', 'latin1')]));
  t.equal(bodyOnly.body, '7BIT', 'BODY=7BIT is kept as given');
  t.same(bodyOnly.content, { header: '7bit', body: '8bit' }, 'whatever BODY= said');
});

t.test('a reopened spool keeps what it had', async (t) => {
  const dir = t.testdir();
  const first = await Spool.open(dir, logger);
  const one = await first.store(message, Readable.from([body]));
  const two = await first.store({ from: '', recipients: [{ address: 'alice@a.test', domain: 'a.test' }] }, Readable.from([body]));
  const reopened = await Spool.open(dir, logger);
  t.same(
    (await reopened.list()).map((e) => e.id),
    [one, two].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id)).map((e) => e.id),
  );
  t.equal((await reopened.read(two.id))?.from, '', 'the null sender survives');
});

t.test('list is sorted by arrival', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const newer = await spool.store(message, Readable.from([body]));
  const older = await spool.store(message, Readable.from([body]));
  await spool.update({ ...older, receivedAt: new Date(Date.parse(newer.receivedAt) - 60_000).toISOString() }, await claimOf(t, spool, older.id));
  t.same((await spool.list()).map((e) => e.id), [older.id, newer.id]);
});

t.test('a stream that errors midway leaves nothing behind', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  await t.rejects(spool.store(message, failingSource('Subject: x\r\n', new Error('552 5.3.4 message too big'))), {
    message: '552 5.3.4 message too big',
  });
  await assertSpoolEmpty(t, spool, dir);
});

t.test('a stream destroyed without an error is not a complete message', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const source = new PassThrough();
  const stored = spool.store(message, source);
  source.write('Subject: cut\r\n');
  source.destroy();
  await t.rejects(stored, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  await assertSpoolEmpty(t, spool, dir);
});

t.test('a failed data rename leaves nothing and drains the source', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  // Fault injection without mocks: data/ is no longer a folder, so the rename fails.
  await rm(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'data'), '');
  const source = new PassThrough();
  const stored = spool.store(message, source);
  source.end(body);
  await t.rejects(stored, { code: 'ENOTDIR' });
  t.same(await filesIn(join(dir, 'tmp')), []);
  t.same(await filesIn(join(dir, 'env')), []);
  t.same(await spool.list(), []);
});

t.test('a failed envelope write removes the data file already renamed', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  await rm(join(dir, 'env'), { recursive: true });
  await writeFile(join(dir, 'env'), '');
  await t.rejects(spool.store(message, Readable.from([body])), { code: 'ENOTDIR' });
  t.same(await filesIn(join(dir, 'data')), [], 'the data file is gone again');
  t.same(await filesIn(join(dir, 'tmp')), []);
});

t.test('a failed write leaves the producer drained, not blocked', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  await rm(join(dir, 'tmp'), { recursive: true });
  const source = new PassThrough();
  const stored = spool.store(message, source);
  await t.rejects(stored, { code: 'ENOENT' });
  // An SMTP session keeps sending after the spool failed; the data must still flow out.
  const ended = new Promise<void>((resolve) => source.once('end', resolve));
  for (let i = 0; i < 100; i++) source.write(Buffer.alloc(64 * 1024, 'x'));
  source.end();
  await ended;
  t.pass('the source was read to its end');
  await mkdir(join(dir, 'tmp'));
  await assertSpoolEmpty(t, spool, dir);
});

t.test('a message without recipients is refused before anything is written', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  await t.rejects(spool.store({ from: 'alice@a.test', recipients: [] }, Readable.from([body])), /cannot queue this message: recipients/);
  await assertSpoolEmpty(t, spool, dir);
});

t.test('no envelope is visible while the data is still arriving', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reachedGate!: () => void;
  const atGate = new Promise<void>((resolve) => (reachedGate = resolve));
  const source = Readable.from(
    (async function* () {
      yield Buffer.from('Subject: slow\r\n');
      reachedGate();
      await gate;
      yield Buffer.from('\r\nbody\r\n');
    })(),
  );
  const stored = spool.store(message, source);
  await atGate;
  t.same(await spool.list(), []);
  t.same(await filesIn(join(dir, 'env')), []);
  release();
  const envelope = await stored;
  t.same((await spool.list()).map((e) => e.id), [envelope.id]);
});

t.test('a 20 MB message is streamed to disk, not buffered', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const chunks = 320;
  let aheadMax = 0;
  async function* produce() {
    for (let i = 0; i < chunks; i++) {
      // How far the producer is ahead of the bytes on disk: bounded by the stream's
      // buffer if store() writes as it reads, the whole message if it buffered.
      const tmp = (await readdir(join(dir, 'tmp'))).filter((name) => name.endsWith('.data'));
      const onDisk = tmp.length === 1 ? (await stat(join(dir, 'tmp', tmp[0]))).size : 0;
      aheadMax = Math.max(aheadMax, i * chunk.length - onDisk);
      yield chunk;
    }
  }
  const stored = await spool.store(message, Readable.from(produce()));
  t.equal(stored.size, chunks * chunk.length);
  t.equal((await stat(join(dir, 'data', stored.id))).size, chunks * chunk.length);
  t.ok(aheadMax <= 2 * 1024 * 1024, `producer at most 2 MB ahead of the disk (was ${aheadMax} bytes)`);
});

t.test('IDs from callers are never paths', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const stored = await spool.store(message, Readable.from([body]));
  const claim = await claimOf(t, spool, stored.id);
  for (const id of ['../env/x', '/etc/passwd', '', 'ABCDEF0123456789abcdef01', '0123456789abcdef01234567.json']) {
    await t.rejects(spool.read(id), /not a queue ID/, `read(${JSON.stringify(id)})`);
    await t.rejects(spool.remove(id, claim), /not a queue ID/);
    t.throws(() => spool.openData(id), /not a queue ID/);
  }
  await t.rejects(spool.update({ ...stored, id: '../../x' }, claim), /not a queue ID/);
});

t.test('update refuses a removed message and an invalid envelope', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const stored = await spool.store(message, Readable.from([body]));
  const claim = await claimOf(t, spool, stored.id);
  await t.rejects(spool.update({ ...stored, recipients: [] }, claim), /refusing to write envelope .*recipients/);
  await spool.remove(stored.id, claim);
  await t.rejects(spool.update(stored, claim), /is not in the queue/);
  t.same(await filesIn(join(dir, 'env')), [], 'the removed message did not come back');
});

t.test('a holder whose lock was taken over writes nothing: no update, no removal, no DSN on its behalf', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const stored = await spool.store(message, Readable.from([body]));
  const claim = await claimOf(t, spool, stored.id);
  // what another host leaves that judged the lock stale (a holder frozen past CLAIM_STALE_MS), broke it and took it
  const other = { pid: process.ppid, host: 'relay-b', token: 'beefbeefbeefbeef', since: new Date().toISOString() };
  await writeFile(join(dir, 'lock', `${stored.id}.lock`), JSON.stringify(other));
  const envelopeBefore = await readFile(join(dir, 'env', `${stored.id}.json`), 'utf8');

  const lost = { name: 'LostClaimError', message: /taken over by pid \d+ on relay-b/, holder: { host: 'relay-b', token: 'beefbeefbeefbeef' } };
  await t.rejects(spool.update({ ...stored, deferrals: 1 }, claim), lost);
  await t.rejects(spool.remove(stored.id, claim), lost);
  await t.rejects(spool.store({ from: '', recipients: [{ address: 'alice@a.test', domain: 'a.test' }] }, Readable.from([body]), claim), lost);

  t.equal(await readFile(join(dir, 'env', `${stored.id}.json`), 'utf8'), envelopeBefore, 'the envelope is as the new holder found it');
  t.same(await filesIn(join(dir, 'env')), [`${stored.id}.json`], 'still queued, and no DSN was queued');
  t.same(await filesIn(join(dir, 'data')), [stored.id], 'the DSN\'s message file is gone again');
  t.same(await filesIn(join(dir, 'tmp')), [], 'no draft is left behind');
});

t.test('a DSN stored on behalf of a message whose lock is still held is queued', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const stored = await spool.store(message, Readable.from([body]));
  const dsn = await spool.store({ from: '', recipients: [{ address: 'alice@a.test', domain: 'a.test' }] }, Readable.from([body]), await claimOf(t, spool, stored.id));
  t.same((await spool.list()).map((e) => e.id).sort(), [stored.id, dsn.id].sort());
});

t.test('read reports a damaged envelope, list quarantines it', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const good = await spool.store(message, Readable.from([body]));
  const bad = await spool.store(message, Readable.from([body]));
  await writeFile(join(dir, 'env', `${bad.id}.json`), '{"id": "truncat');
  await t.rejects(spool.read(bad.id), new RegExp(`envelope ${bad.id} is damaged: not JSON`));
  t.same((await spool.list()).map((e) => e.id), [good.id]);
  t.same(await filesIn(join(dir, 'quarantine')), [`${bad.id}.eml`, `${bad.id}.json`], 'moved out of the queue, message and envelope');
  t.same(await filesIn(join(dir, 'env')), [`${good.id}.json`]);
});

t.test('list leaves a damaged envelope alone while another process holds its lock', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const bad = await spool.store(message, Readable.from([body]));
  await writeFile(join(dir, 'env', `${bad.id}.json`), 'garbage');
  // the parent process (the test runner) is alive, on this host: a live holder
  await writeFile(join(dir, 'lock', `${bad.id}.lock`), JSON.stringify({ pid: process.ppid, host: hostname(), token: 't', since: new Date().toISOString() }));
  t.same(await spool.list(), []);
  t.same(await filesIn(join(dir, 'quarantine')), [], 'not moved under its holder');
});

t.test('check: sound, gone, or damaged and quarantined', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const sound = await spool.store(message, Readable.from([body]));
  const truncated = await spool.store(message, Readable.from([body]));
  await writeFile(join(dir, 'data', truncated.id), body.slice(0, 10));
  t.same(await spool.check(sound.id), { kind: 'found', envelope: sound });
  t.match(await spool.check(truncated.id), { kind: 'quarantined', problem: `message file has 10 bytes, the envelope says ${body.length}` });
  t.same(await filesIn(join(dir, 'quarantine')), [`${truncated.id}.eml`, `${truncated.id}.json`]);
  t.same(await spool.check(truncated.id), { kind: 'missing' }, 'out of the queue now');
});

t.test('watchChanges hears announceChange from another Spool on the same folder', async (t) => {
  const dir = t.testdir();
  const relay = await Spool.open(dir, logger);
  const cli = await Spool.open(dir, logger);
  let stop = (): void => undefined;
  const heard = new Promise<void>((resolve) => {
    stop = relay.watchChanges(resolve);
  });
  t.teardown(() => stop());
  await cli.announceChange();
  await heard;
  t.pass('the change was announced');
});

t.test('openData of a missing message errors on the stream', async (t) => {
  const spool = await Spool.open(t.testdir(), logger);
  await t.rejects(readAll(spool.openData('0123456789abcdef01234567')), { code: 'ENOENT' });
});

t.test('stored files are what was sent, byte for byte', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, logger);
  const bytes = Buffer.from([0x53, 0x3a, 0x20, 0xe9, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x80]);
  const stored = await spool.store(message, Readable.from([bytes]));
  t.same(await readFile(join(dir, 'data', stored.id)), bytes);
});
