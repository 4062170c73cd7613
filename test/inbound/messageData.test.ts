// The message as the spool reads it: our Received header first, then the client's data as
// the guard passes it on, with the hops counted — and a refusal of either ends the stream.
import t from 'tap';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { HopLimit } from '../../src/inbound/hopLimit.js';
import { MessageData } from '../../src/inbound/messageData.js';
import { DataRefusal, MessageDataGuard } from '../../src/inbound/messageDataGuard.js';

const HEADER = 'Received: from client.test ([192.0.2.7]) by relay.test with ESMTP; Mon, 1 Jan 2024 00:00:00 +0000\r\n';

/** Pipes the chunks (latin1) through a MessageData, as the session does, and reads it to the end as the spool does. */
async function read(chunks: string[], { mode = 'reject', maxHops = 50 }: { mode?: 'reject' | 'normalize'; maxHops?: number } = {}): Promise<string | DataRefusal> {
  const data = new MessageData(HEADER, new MessageDataGuard({ bareLineEndings: mode, maxSize: 1 << 20 }), new HopLimit(maxHops));
  Readable.from(chunks.map((chunk) => Buffer.from(chunk, 'latin1'))).pipe(data);
  try {
    return (await buffer(data)).toString('latin1');
  } catch (err) {
    if (err instanceof DataRefusal) return err;
    throw err;
  }
}

t.test('the header, then the data unchanged, however it is chunked', async (t) => {
  const data = `Subject: x\r\n\r\n${`${'x'.repeat(76)}\r\n`.repeat(1000)}`;
  for (const chunks of [[data], [data.slice(0, 1), data.slice(1, 40_001), data.slice(40_001)], data.slice(0, 500).split('').concat(data.slice(500))]) {
    t.equal(await read(chunks), HEADER + data, `${chunks.length} chunks`);
  }
  t.equal(await read([]), HEADER, 'no data: the header alone');
});

t.test("the guard's refusal ends the stream with it", async (t) => {
  const refused = await read(['Subject: x\r\n\r\na\n.\nMAIL FROM:<x@y>\r\n']);
  t.type(refused, DataRefusal);
  t.match(refused, { responseCode: 550, message: '5.5.2 Error: bare <CR> or <LF> received' });
  t.match(await read(['Subject: x\r\n\r\nend\r']), { responseCode: 550, message: '5.5.2 Error: bare <CR> or <LF> received' }, 'a CR left at the end too');
});

t.test('normalize mode: the CRLF for a CR at the very end is the last thing read', async (t) => {
  t.equal(await read(['Subject: x\r\n\r\na\nb\r'], { mode: 'normalize' }), `${HEADER}Subject: x\r\n\r\na\r\nb\r\n`);
});

t.test('the hops the message arrived with are counted, not the header added here', async (t) => {
  const twice = 'Received: from a.test by b.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n'.repeat(2);
  t.equal(await read([`${twice}Subject: x\r\n\r\nbody\r\n`], { maxHops: 2 }), `${HEADER}${twice}Subject: x\r\n\r\nbody\r\n`, 'two hops and ours: within a limit of 2');
  t.match(await read([`${twice}Received: from c.test by a.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n`], { maxHops: 2 }), { responseCode: 554, message: '5.4.6 Too many hops' });
});
