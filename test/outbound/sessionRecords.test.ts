import { once } from 'node:events';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import t from 'tap';
import { MessageProgress } from '../../src/outbound/messageProgress.js';
import { SessionRecords } from '../../src/outbound/sessionRecords.js';
import type { OutgoingMessage } from '../../src/outbound/types.js';
import { until } from '../helpers/until.js';

function delivered(recordReplies: OutgoingMessage['recordReplies']): MessageProgress {
  const progress = new MessageProgress({ queueId: 'Q1', from: 'a@sender.test', recipients: ['b@dest.test'], size: 5, extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from(['hello']), recordReplies });
  progress.apply([{ address: 'b@dest.test', outcome: 'delivered', code: 250, response: '250 2.0.0 Ok' }]);
  return progress;
}

t.test('the next message ends only once the record before it is written; with nothing pending it is passed as it is', async (t) => {
  const records = new SessionRecords();
  const plain = (): Readable => Readable.from(['next message']);
  t.equal(records.data(plain), plain, 'no record pending: the stream itself');
  let write = (): void => undefined;
  records.record(delivered(() => new Promise<void>((resolve) => (write = resolve))));
  const held = records.data(plain)();
  const chunks: string[] = [];
  let ended = false;
  held.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  held.on('end', () => (ended = true));
  await until(() => chunks.length > 0, 1);
  // the source has ended by now: a few turns of the event loop would end an unheld stream
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  t.notOk(ended, 'held at its end while the record is being written');
  write();
  await once(held, 'end');
  t.same(chunks, ['next message'], 'then ends, with every byte');
  await records.settled();
});

t.test('a record that fails is reported by settled(), not as an unhandled rejection', async (t) => {
  const records = new SessionRecords();
  records.record(delivered(() => Promise.reject(new Error('disk on fire'))));
  // the next message's stream still ends: the session can finish and report
  t.equal(await text(records.data(() => Readable.from(['next']))()), 'next');
  await t.rejects(records.settled(), { message: 'disk on fire' });
});

t.test('an error of the stored message reaches the reader of the held stream', async (t) => {
  const records = new SessionRecords();
  records.record(delivered(() => Promise.resolve()));
  const broken = records.data(
    () =>
      new Readable({
        read() {
          this.destroy(new Error('EIO: cannot read the message'));
        },
      }),
  )();
  await t.rejects(text(broken), { message: 'EIO: cannot read the message' });
  await records.settled();
});
