import t, { type Test } from 'tap';
import { ContentScan } from '../../src/queue/messageContent.js';
import type { MessageContent } from '../../src/queue/types.js';

/** The message cut into chunks at every given offset. */
function scanInChunks(message: Buffer, cuts: number[]): MessageContent {
  const scan = new ContentScan();
  let start = 0;
  for (const cut of [...cuts, message.length]) {
    scan.add(message.subarray(start, cut));
    start = cut;
  }
  return scan.result();
}

/** Every way of cutting the message in two, and in three around the empty line: the cuts that change the result. */
function everyCut(t: Test, message: Buffer, expected: MessageContent, name: string): void {
  const cuttings: number[][] = [];
  for (let cut = 0; cut <= message.length; cut++) cuttings.push([cut]);
  const blank = message.indexOf('\r\n\r\n');
  for (let a = Math.max(0, blank - 2); blank >= 0 && a <= blank + 4; a++) {
    for (let b = a; b <= blank + 5; b++) cuttings.push([a, b]);
  }
  const wrong = cuttings.filter((cuts) => JSON.stringify(scanInChunks(message, cuts)) !== JSON.stringify(expected));
  t.same(wrong, [], `${name}: ${JSON.stringify(expected)} however it is cut`);
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

t.test('7-bit header and body', async (t) => {
  everyCut(t, utf8('Subject: plain\r\n\r\nbody\r\n'), { header: '7bit', body: '7bit' }, 'ASCII');
});

t.test('8-bit octets in the body only', async (t) => {
  everyCut(t, utf8('Subject: plain\r\n\r\nGrüße\r\n'), { header: '7bit', body: '8bit' }, 'UTF-8 body');
  everyCut(t, Buffer.from('Subject: plain\r\n\r\nGr\xfc\xdfe\r\n', 'latin1'), { header: '7bit', body: '8bit' }, 'Latin-1 body');
});

t.test('8-bit octets in the header only', async (t) => {
  everyCut(t, utf8('Subject: Grüße\r\n\r\nbody\r\n'), { header: '8bit', body: '7bit' }, 'UTF-8 subject');
  // the last header line's octets count for the header, even right before the empty line
  everyCut(t, utf8('Subject: x\r\nFrom: Jörg <j@a.test>\r\n\r\nbody\r\n'), { header: '8bit', body: '7bit' }, 'last header line');
});

t.test('8-bit octets in both', async (t) => {
  everyCut(t, utf8('Subject: Grüße\r\n\r\nGrüße\r\n'), { header: '8bit', body: '8bit' }, 'both');
});

t.test('the first empty line ends the header; later ones are body', async (t) => {
  everyCut(t, utf8('Subject: x\r\n\r\nfirst\r\n\r\nGrüße\r\n'), { header: '7bit', body: '8bit' }, 'second paragraph');
  everyCut(t, utf8('\r\nSubject: Grüße\r\n'), { header: '7bit', body: '8bit' }, 'a message that starts with the empty line has no header');
});

t.test('a message without an empty line is all header', async (t) => {
  everyCut(t, utf8('Subject: x\r\nX-Note: Grüße\r\n'), { header: '8bit', body: '7bit' }, 'no body');
});

t.test('many small chunks', async (t) => {
  const message = utf8(`Subject: x\r\n${'X-Filler: abc\r\n'.repeat(50)}\r\n${'line\r\n'.repeat(50)}ü\r\n`);
  t.same(
    scanInChunks(
      message,
      Array.from({ length: message.length - 1 }, (_, i) => i + 1),
    ),
    { header: '7bit', body: '8bit' },
    'one byte at a time',
  );
});
