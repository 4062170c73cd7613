import t from 'tap';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { MessageDataGuard, DataRefusal } from '../../src/inbound/messageDataGuard.js';

/** Feeds the chunks exactly as given (so splits across reads are exercised) and collects the result. */
async function guard(chunks: string[], mode: 'reject' | 'normalize', maxSize = 1 << 20): Promise<string | DataRefusal> {
  const source = Readable.from(chunks.map((chunk) => Buffer.from(chunk, 'latin1')));
  try {
    return await text(source.pipe(new MessageDataGuard({ bareLineEndings: mode, maxSize })));
  } catch (err) {
    if (err instanceof DataRefusal) return err;
    throw err;
  }
}

const clean = 'Subject: hi\r\n\r\nline one\r\nline two\r\n';

t.test('clean CRLF data passes unchanged in both modes', async (t) => {
  t.equal(await guard([clean], 'reject'), clean);
  t.equal(await guard([clean], 'normalize'), clean);
});

t.test('a CRLF split across reads is not mistaken for a bare CR', async (t) => {
  t.equal(await guard(['Subject: hi\r', '\n\r\nbody\r', '\n'], 'reject'), 'Subject: hi\r\n\r\nbody\r\n');
});

const smuggling: Array<[string, string]> = [
  ['<LF>.<LF>', 'a\r\nb\n.\nMAIL FROM:<x@y>\r\n'],
  ['<CR>.<CR>', 'a\r\nb\r.\rc\r\n'],
  ['<LF>.<CR><LF>', 'a\n.\r\nc\r\n'],
  ['<CR><LF>.<CR>', 'a\r\n.\rc\r\n'],
  ['<CR><LF>.<LF>', 'a\r\n.\nc\r\n'],
  ['<CR>.<CR><LF>', 'a\r.\r\nc\r\n'],
  ['bare LF in a header', 'Subject: x\nBcc: y\r\n\r\n'],
  ['bare CR at the very end', 'a\r\nb\r'],
];

for (const [name, data] of smuggling) {
  t.test(`reject mode refuses ${name} with Postfix's 550 5.5.2`, async (t) => {
    const result = await guard([data], 'reject');
    t.type(result, DataRefusal);
    t.equal((result as DataRefusal).responseCode, 550);
    t.equal((result as DataRefusal).message, '5.5.2 Error: bare <CR> or <LF> received');
  });
  t.test(`reject mode refuses ${name} split one byte per read`, async (t) => {
    const result = await guard(data.split(''), 'reject');
    t.type(result, DataRefusal);
  });
  t.test(`normalize mode turns ${name} into CRLF only`, async (t) => {
    const result = await guard(data.split(''), 'normalize');
    t.type(result, 'string');
    const out = result as string;
    t.notMatch(out, /\r(?!\n)/, 'no bare CR left');
    t.notMatch(out, /(?<!\r)\n/, 'no bare LF left');
    t.equal(out.replace(/\r\n/g, ''), data.replace(/\r\n|\r|\n/g, ''), 'only line endings changed');
  });
}

const nul: Array<[string, string]> = [
  ['a NUL before the dot', 'a\r\n\x00.\r\nMAIL FROM:<x@y>\r\n'],
  ['a NUL after the dot', 'a\r\n.\x00\r\nc\r\n'],
  ['a NUL in a header', 'Subject: x\x00y\r\n\r\nbody\r\n'],
  ['a NUL as the last byte', 'a\r\nb\x00'],
];

for (const [name, data] of nul) {
  for (const mode of ['reject', 'normalize'] as const) {
    t.test(`${mode} mode refuses ${name}, whole and one byte per read`, async (t) => {
      for (const chunks of [[data], data.split('')]) {
        const result = await guard(chunks, mode);
        t.type(result, DataRefusal);
        t.equal((result as DataRefusal).responseCode, 550);
        t.equal((result as DataRefusal).message, '5.5.2 Error: NUL character received');
      }
    });
  }
}

t.test('a body over the size limit is refused with 552 5.3.4', async (t) => {
  const result = await guard(['x'.repeat(600) + '\r\n', 'y'.repeat(600) + '\r\n'], 'reject', 1000);
  t.type(result, DataRefusal);
  t.equal((result as DataRefusal).responseCode, 552);
  t.match((result as DataRefusal).message, /^5\.3\.4 /);
  t.equal(await guard(['x'.repeat(998) + '\r\n'], 'reject', 1000), 'x'.repeat(998) + '\r\n', 'exactly the limit passes');
});
