// openQueue: each store is opened as the config says, and messages left in the other store
// of queue.dir are moved into it — as they were (ID, envelope, bytes), either way, so that
// switching stores (and back) is a restart.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import type { QueueStore } from '../../src/config/types.js';
import { QUEUE_DEFAULTS } from '../../src/config/defaults.js';
import { createLogger } from '../../src/log.js';
import type { MessageQueue } from '../../src/queue/messageQueue.js';
import { LmdbQueue } from '../../src/queue/lmdb/lmdbQueue.js';
import { openQueue } from '../../src/queue/openQueue.js';
import { Spool } from '../../src/queue/spool.js';
import type { Envelope, NewMessage } from '../../src/queue/types.js';
import { capturingLogger } from '../helpers/capturingLogger.js';
import { bytesOf } from '../helpers/queueStores.js';

const message: NewMessage = { from: 'alice@a.test', recipients: [{ address: 'bob@b.test', domain: 'b.test' }] };

const config = (dir: string, store: QueueStore) => ({ ...QUEUE_DEFAULTS, retry: [...QUEUE_DEFAULTS.retry], dir, store });

/** Two messages, one of them bigger than a piece of the LMDB store and already tried once. */
async function fill(queue: MessageQueue): Promise<Array<{ envelope: Envelope; bytes: Buffer }>> {
  const small = Buffer.from('Subject: small\r\n\r\nhi\r\n');
  const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), randomBytes(700_000)]);
  const first = await queue.store(message, Readable.from([small]));
  const second = await queue.store(message, Readable.from([big]));
  const attempt = await queue.claim(second.id);
  if (attempt.kind !== 'claimed') throw new Error('claimed already');
  const tried: Envelope = { ...second, deferrals: 1, nextAttemptAt: new Date(Date.now() + 60_000).toISOString() };
  await queue.update(tried, attempt.claim);
  await attempt.claim.release();
  return [
    { envelope: first, bytes: small },
    { envelope: tried, bytes: big },
  ];
}

for (const [from, to] of [
  ['files', 'lmdb'],
  ['lmdb', 'files'],
] as const) {
  t.test(`queue.store ${to}: the messages of the ${from} store are moved in, as they were`, async (t) => {
    const dir = t.testdir();
    const before = await openQueue(config(dir, from), createLogger('silent'));
    const stored = await fill(before);
    await before.close();

    const { logger, lines } = capturingLogger();
    const after = await openQueue(config(dir, to), logger);
    t.teardown(() => after.close());
    t.match(
      lines.filter((line) => line.msg === 'queue messages moved from the other store'),
      [{ moved: 2, busy: 0, from, to }],
      'one line says what was moved',
    );
    t.same(await after.list(), stored.map(({ envelope }) => envelope), 'every envelope as it was, attempts and schedule included');
    for (const { envelope, bytes } of stored) t.ok((await bytesOf(after.openData(envelope.id))).equals(bytes), `${envelope.size} bytes, byte for byte`);

    // opened by itself: openQueue would move them back
    const left = await (from === 'files' ? Spool : LmdbQueue).open(dir, createLogger('silent'));
    t.same(await left.list(), [], `nothing is left in the ${from} store`);
    await left.close();

    const back = await openQueue(config(dir, from), createLogger('silent'));
    t.same(await back.list(), stored.map(({ envelope }) => envelope), `and back in the ${from} store after switching back`);
    await back.close();
  });
}

t.test('a message another process holds stays in the other store and is moved once it is free', async (t) => {
  const dir = t.testdir();
  const files = await openQueue(config(dir, 'files'), createLogger('silent'));
  t.teardown(() => files.close());
  const [held, free] = await fill(files);
  const attempt = await files.claim(held!.envelope.id);
  if (attempt.kind !== 'claimed') throw new Error('claimed already');

  const { logger, lines } = capturingLogger();
  const lmdb = await openQueue(config(dir, 'lmdb'), logger, 50);
  t.teardown(() => lmdb.close());
  t.match(lines, [{ msg: 'queue messages moved from the other store', moved: 1, busy: 1 }], 'one moved, one left');
  t.same((await lmdb.list()).map((envelope) => envelope.id), [free!.envelope.id]);
  t.same((await files.list()).map((envelope) => envelope.id), [held!.envelope.id], 'the held one is where it was');

  let announced: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (announced = resolve));
  let announcements = 0;
  t.teardown(
    lmdb.watchChanges(() => {
      announcements++;
      announced();
    }),
  );
  // tries while the message is held move nothing, and announce nothing (an announcement ends a relay's backoff periods)
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(announcements, 0, 'no announcement while nothing could be moved');
  await attempt.claim.release();
  // the retry announces what it moved, for a running relay to read its queue again
  await seen;
  t.same((await lmdb.list()).map((envelope) => envelope.id).sort(), [held!.envelope.id, free!.envelope.id].sort(), 'moved by a later try');
  t.same(await files.list(), []);
});

t.test('nothing of the other store is made when it was never used', async (t) => {
  const dir = t.testdir();
  const { logger, lines } = capturingLogger();
  await (await openQueue(config(dir, 'lmdb'), logger)).close();
  const queue = await openQueue(config(dir, 'lmdb'), logger);
  await queue.close();
  t.same((await readdir(dir)).sort(), ['control', 'lmdb'], 'no env/, data/ or the rest of the file spool');
  t.same(lines, [], 'and nothing to say');
  const filesDir = t.testdir();
  await (await openQueue(config(join(filesDir), 'files'), logger)).close();
  t.notOk((await readdir(filesDir)).includes('lmdb'), 'the file spool makes no LMDB store');
});
