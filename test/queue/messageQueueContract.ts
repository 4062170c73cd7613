// What every MessageQueue promises, whatever keeps the messages: run by each store's
// *Contract.test.ts with a factory that opens that store on a folder. Only the interface
// is used here, on real storage; what is particular to a store (its files, its damage
// handling) is tested in that store's own tests.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Test } from 'tap';
import { LostClaimError, type ClaimHolder, type MessageQueue, type QueueClaim } from '../../src/queue/messageQueue.js';
import type { Envelope, NewMessage } from '../../src/queue/types.js';
import { until } from '../helpers/until.js';

export interface QueueUnderTest {
  /**
   * Opens the store kept in `dir`. Every call is a new instance: two on one folder are what
   * the relay and a `tlsrelay queue` command are to each other.
   */
  open(dir: string): Promise<MessageQueue>;
  /**
   * Does to the claim on message `id` what another process does that judged it stale and
   * took the message over (for the file spool: its lock file replaced by another host's).
   * Resolves to the holder it left, or undefined when it left none.
   */
  takeOver(dir: string, id: string): Promise<ClaimHolder | undefined>;
}

const message: NewMessage = {
  from: 'alice@a.test',
  recipients: [
    { address: 'bob@b.test', domain: 'b.test', notify: ['FAILURE'], orcpt: 'rfc822;bob@b.test' },
    { address: 'carol@c.test', domain: 'c.test' },
  ],
  ret: 'HDRS',
  envid: 'env-1',
};

const dsnMessage: NewMessage = { from: '', recipients: [{ address: 'alice@a.test', domain: 'a.test' }] };

const text = 'Subject: hello\r\nFrom: alice@a.test\r\n\r\nHi Bob.\r\n';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `bytes` in pieces of uneven sizes, so that no piece boundary falls where a store's own would. */
function unevenPieces(bytes: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0, n = 0; at < bytes.length; n++) {
    const size = 1 + ((n * 7919) % 100_003);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return Readable.from(pieces);
}

/** A source that sends `first`, then fails as inbound fails a message (too big, bare LF, a dropped client). */
function failingSource(first: Buffer, error: Error): Readable {
  return Readable.from(
    (async function* () {
      yield first;
      throw error;
    })(),
  );
}

export function messageQueueContract(t: Test, name: string, store: QueueUnderTest): void {
  /** A new instance on `dir`, closed when the test ends. */
  async function opened(t: Test, dir: string): Promise<MessageQueue> {
    const queue = await store.open(dir);
    t.teardown(() => queue.close());
    return queue;
  }

  /** The message's claim, which must be free; released (if still held) when the test ends. */
  async function claimOf(t: Test, queue: MessageQueue, id: string): Promise<QueueClaim> {
    const attempt = await queue.claim(id);
    if (attempt.kind !== 'claimed') throw new Error(`${id} is claimed already`);
    t.teardown(() => attempt.claim.release());
    return attempt.claim;
  }

  const ids = async (queue: MessageQueue): Promise<string[]> => (await queue.list()).map((envelope) => envelope.id);

  t.test(`${name}: the MessageQueue contract`, async (t) => {
    t.test('store, then list, read and openData give back the message byte for byte', async (t) => {
      const dir = t.testdir();
      const queue = await opened(t, dir);
      const bytes = randomBytes(700_001);
      const stored = await queue.store(message, unevenPieces(bytes));
      t.match(stored, {
        from: 'alice@a.test',
        recipients: [
          { address: 'bob@b.test', domain: 'b.test', state: 'pending', notify: ['FAILURE'], orcpt: 'rfc822;bob@b.test' },
          { address: 'carol@c.test', domain: 'c.test', state: 'pending' },
        ],
        ret: 'HDRS',
        envid: 'env-1',
        size: bytes.length,
        attempts: [],
      });
      t.equal(stored.nextAttemptAt, stored.receivedAt, 'due at once');
      t.same(await queue.list(), [stored], 'listed as stored');
      t.same(await queue.read(stored.id), stored, 'read as stored');
      t.ok((await readAll(queue.openData(stored.id))).equals(bytes), 'the data, byte for byte');
      t.ok((await readAll(queue.openData(stored.id))).equals(bytes), 'each openData is a fresh stream from the start');

      const other = await opened(t, dir);
      t.same(await other.read(stored.id), stored, 'another instance on the same store reads it too');
      t.ok((await readAll(other.openData(stored.id))).equals(bytes), 'and its data');
    });

    t.test('an unknown message: read gives undefined, openData errors on the stream, check says missing', async (t) => {
      const queue = await opened(t, t.testdir());
      const unknown = '0123456789abcdef01234567';
      t.equal(await queue.read(unknown), undefined);
      await t.rejects(readAll(queue.openData(unknown)));
      t.same(await queue.check(unknown), { kind: 'missing' });
    });

    t.test('IDs that are not queue IDs are refused (they come from the command line)', async (t) => {
      const queue = await opened(t, t.testdir());
      await t.rejects(queue.read('../../etc/passwd'), /not a queue ID/);
      await t.rejects(queue.claim('../x'), /not a queue ID/);
    });

    t.test('a store whose data stream fails rejects and leaves nothing listed', async (t) => {
      const dir = t.testdir();
      const queue = await opened(t, dir);
      const failure = new Error('message too big');
      await t.rejects(queue.store(message, failingSource(randomBytes(300_000), failure)), failure);
      t.same(await queue.list(), [], 'nothing listed');
      t.same(await (await opened(t, dir)).list(), [], 'nor by an instance opened afterwards');
      const stored = await queue.store(message, Readable.from([text]));
      t.same(await ids(queue), [stored.id], 'the store takes the next message as usual');
    });

    t.test('adopt takes a message from another store as it was, once', async (t) => {
      const dir = join(t.testdir(), 'here');
      const source = await opened(t, join(t.testdirName, 'there'));
      const queue = await opened(t, dir);
      const bytes = randomBytes(600_000);
      const stored = await source.store(message, unevenPieces(bytes));
      const tried: Envelope = { ...stored, deferrals: 2, attempts: [], nextAttemptAt: new Date(Date.parse(stored.receivedAt) + 3_600_000).toISOString() };
      t.equal(await queue.adopt(tried, unevenPieces(bytes)), true, 'adopted');
      t.same(await queue.list(), [tried], 'same ID, same envelope');
      t.ok((await readAll(queue.openData(tried.id))).equals(bytes), 'same bytes');
      t.same(await (await opened(t, dir)).read(tried.id), tried, 'durable: another instance reads it');
      t.equal(await queue.adopt({ ...tried, deferrals: 5 }, Readable.from([text])), false, 'a second adopt of the ID changes nothing');
      t.same(await queue.read(tried.id), tried);

      const other = await source.store(message, Readable.from([text]));
      await t.rejects(queue.adopt(other, Readable.from([text.slice(1)])), /bytes/, 'data of another size than the envelope says is refused');
      await t.rejects(queue.adopt(other, failingSource(randomBytes(300_000), new Error('source gone'))), /source gone/, 'so is data that fails');
      t.same(await ids(queue), [tried.id], 'and neither left anything');
      t.equal(await queue.adopt(other, Readable.from([text])), true, 'the message is adopted when its data comes whole');
    });

    t.test('list: oldest first', async (t) => {
      const queue = await opened(t, t.testdir());
      const stored: Envelope[] = [];
      for (const subject of ['first', 'second', 'third']) {
        // a later millisecond for each, so that the order of arrival is unambiguous
        const previous = stored.at(-1);
        if (previous) await until(() => Date.now() > Date.parse(previous.receivedAt), 1);
        stored.push(await queue.store(message, Readable.from([`Subject: ${subject}\r\n\r\n`])));
      }
      t.same(await ids(queue), stored.map((envelope) => envelope.id));
    });

    t.test('a claim is busy while held, by this instance or another, and free once released', async (t) => {
      const dir = t.testdir();
      const queue = await opened(t, dir);
      const other = await opened(t, dir);
      const { id } = await queue.store(message, Readable.from([text]));
      const claim = await claimOf(t, queue, id);
      t.same(await claim.confirm(), { kind: 'held' });
      const again = await queue.claim(id);
      t.match(again, { kind: 'busy', holder: { pid: process.pid } }, 'not twice, even in one process');
      t.match(await other.claim(id), { kind: 'busy', holder: { pid: process.pid } }, 'another instance is refused too');
      await claim.release();
      const retaken = await other.claim(id);
      t.equal(retaken.kind, 'claimed', 'free after release');
      if (retaken.kind === 'claimed') await retaken.claim.release();
      await claim.release();
      t.equal((await queue.claim(id)).kind, 'claimed', 'a second release of the old claim took nothing away');
    });

    t.test('closing a queue lets go of the claims taken through it', async (t) => {
      const dir = t.testdir();
      const queue = await store.open(dir);
      const { id } = await queue.store(message, Readable.from([text]));
      const attempt = await queue.claim(id);
      t.equal(attempt.kind, 'claimed');
      await queue.close();
      const other = await opened(t, dir);
      t.equal((await other.claim(id)).kind, 'claimed', 'another instance gets the message at once');
    });

    t.test('under its claim: check, update, then remove', async (t) => {
      const dir = t.testdir();
      const queue = await opened(t, dir);
      const stored = await queue.store(message, Readable.from([text]));
      const claim = await claimOf(t, queue, stored.id);
      t.same(await queue.check(stored.id), { kind: 'found', envelope: stored });
      const updated: Envelope = { ...stored, deferrals: 1, nextAttemptAt: new Date(Date.parse(stored.receivedAt) + 60_000).toISOString() };
      await queue.update(updated, claim);
      t.same(await queue.read(stored.id), updated, 'the new envelope is read');
      t.same(await (await opened(t, dir)).read(stored.id), updated, 'also by another instance');
      t.same(await queue.check(stored.id), { kind: 'found', envelope: updated });

      await queue.remove(stored.id, claim);
      t.same(await queue.check(stored.id), { kind: 'missing' }, 'check: missing after remove');
      t.equal(await queue.read(stored.id), undefined);
      t.same(await queue.list(), []);
      await t.rejects(readAll(queue.openData(stored.id)), 'its data is gone');
      await t.rejects(queue.update(updated, claim), 'an update does not bring a removed message back');
      t.same(await queue.list(), [], 'still gone');
    });

    t.test('a DSN stored on behalf of a message whose claim is held is queued', async (t) => {
      const queue = await opened(t, t.testdir());
      const original = await queue.store(message, Readable.from([text]));
      const dsn = await queue.store(dsnMessage, Readable.from([text]), await claimOf(t, queue, original.id));
      t.same((await ids(queue)).sort(), [original.id, dsn.id].sort());
      t.equal((await queue.read(dsn.id))?.from, '', 'the DSN, from the null sender');
    });

    t.test('a holder whose claim was taken over writes nothing: no update, no removal, no DSN on its behalf', async (t) => {
      const dir = t.testdir();
      const queue = await opened(t, dir);
      const stored = await queue.store(message, Readable.from([text]));
      const claim = await claimOf(t, queue, stored.id);
      const newHolder = await store.takeOver(dir, stored.id);

      const lost = { name: 'LostClaimError', holder: newHolder ? { pid: newHolder.pid, host: newHolder.host, token: newHolder.token } : undefined };
      for (const [what, write] of [
        ['update', () => queue.update({ ...stored, deferrals: 1 }, claim)],
        ['remove', () => queue.remove(stored.id, claim)],
        ['DSN', () => queue.store(dsnMessage, Readable.from([text]), claim)],
      ] as const) {
        const refusal = await write().then(
          () => undefined,
          (err: unknown) => err,
        );
        t.type(refusal, LostClaimError, `${what} refused`);
        t.match(refusal, lost, `${what}: the refusal names who holds the claim now`);
      }
      t.match(await claim.confirm(), { kind: 'lost' }, 'and the claim stays lost');

      t.same(await queue.list(), [stored], 'still queued as it was, and no DSN was queued');
      t.same(await (await opened(t, dir)).list(), [stored], 'as another instance sees it');
      t.equal((await readAll(queue.openData(stored.id))).toString(), text, 'with its data');
    });

    t.test("announceChange reaches another instance's watchChanges", async (t) => {
      const dir = t.testdir();
      const relay = await opened(t, dir);
      const command = await opened(t, dir);
      let seen: () => void = () => undefined;
      const announced = new Promise<void>((resolve) => (seen = resolve));
      t.teardown(relay.watchChanges(() => seen()));
      await command.announceChange();
      // tap's per-file timeout is the guard: a change never seen fails the file
      await announced;
      t.pass('the change was seen');
    });
  });
}
