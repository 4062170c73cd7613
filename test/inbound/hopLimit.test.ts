import t, { type Test } from 'tap';
import { HopLimit } from '../../src/inbound/hopLimit.js';
import { DataRefusal } from '../../src/inbound/messageDataGuard.js';

/** Feeds the chunks as given (latin1: one byte per character): the refusal, or undefined when the message passes. */
function limit(chunks: string[], maxHops = 50): DataRefusal | undefined {
  const hops = new HopLimit(maxHops);
  for (const chunk of chunks) {
    const refusal = hops.count(Buffer.from(chunk, 'latin1'));
    if (refusal) return refusal;
  }
  return undefined;
}

/** Whole, and split one byte per read: a field name cut in two still counts. */
async function bothWays(t: Test, data: string, maxHops: number, expect: 'passes' | 'refused'): Promise<void> {
  for (const [how, chunks] of [['whole', [data]], ['one byte per read', data.split('')]] as const) {
    const result = limit([...chunks], maxHops);
    if (expect === 'passes') t.equal(result, undefined, `${how}: not refused`);
    else {
      t.type(result, DataRefusal, `${how}: refused`);
      t.equal((result as DataRefusal).responseCode, 554);
      t.equal((result as DataRefusal).message, '5.4.6 Too many hops');
    }
  }
}

const received = (n: number, field = 'Received'): string => Array.from({ length: n }, (_, i) => `${field}: from hop${i}.test by hop${i + 1}.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n`).join('');
const BODY = 'Subject: loop\r\n\r\nbody\r\n';

t.test('50 Received fields pass with the default limit, 51 get 554 5.4.6 Too many hops', async (t) => {
  await bothWays(t, received(50) + BODY, 50, 'passes');
  await bothWays(t, received(51) + BODY, 50, 'refused');
});

t.test('the limit is the configured one', async (t) => {
  await bothWays(t, received(3) + BODY, 3, 'passes');
  await bothWays(t, received(4) + BODY, 3, 'refused');
});

t.test('Delivered-To counts as a hop, in any case; Received-like names do not', async (t) => {
  await bothWays(t, received(2, 'RECEIVED') + received(2, 'delivered-to') + BODY, 3, 'refused');
  await bothWays(t, received(1, 'ReCeIvEd') + received(1, 'Delivered-TO') + BODY, 2, 'passes');
  const lookalikes = ['X-Original-To', 'X-Received', 'Received-SPF', 'ARC-Received', 'Receivedx', 'Delivered-Tox', 'X-Delivered-To'];
  await bothWays(t, lookalikes.map((name) => received(5, name)).join('') + BODY, 1, 'passes');
});

t.test('the obsolete form with whitespace before the colon counts', async (t) => {
  await bothWays(t, 'Received : a\r\nReceived\t: b\r\n' + BODY, 1, 'refused');
});

t.test('only the header section counts: not the body, not continuation lines', async (t) => {
  await bothWays(t, received(2) + '\r\n' + received(60), 2, 'passes');
  const folded = Array.from({ length: 3 }, () => 'Received: from a\r\n\tReceived: by b\r\n Delivered-To: c\r\n').join('');
  await bothWays(t, folded + BODY, 3, 'passes');
});

t.test('a line that is no header field ends the header section, as Postfix reads it', async (t) => {
  await bothWays(t, 'Received: a\r\nthis is text\r\n' + received(10), 1, 'passes');
  await bothWays(t, 'Received: a\r\nno colon at all\r\n' + received(10), 1, 'passes');
  await bothWays(t, 'Received: a\r\n: no name\r\n' + received(10), 1, 'passes');
  await bothWays(t, 'Received: a\r\n\xe9t\xe9: 8-bit name\r\n' + received(10), 1, 'passes');
  await bothWays(t, 'Received: a\r\n' + 'X-A-Very-Long-Field-Name-Indeed: 1\r\n' + received(1) + BODY, 1, 'refused');
});

t.test('a message without a header section counts nothing', async (t) => {
  await bothWays(t, '\r\n' + received(5), 1, 'passes');
});

t.test('the body is not looked at, however it is chunked', async (t) => {
  const data = received(2) + BODY + received(60) + 'x'.repeat(70_000) + '\r\n';
  t.equal(limit([data.slice(0, 7), data.slice(7, 70_001), data.slice(70_001)], 2), undefined, 'trace fields in the body do not count');
});
