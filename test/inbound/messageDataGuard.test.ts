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

const LONG_LINE = '5.5.2 Error: message line longer than 1000 octets, CRLF included (RFC 5321 4.5.3.1.6)';

/** Every way of reading `data` in two, and one byte per read. */
function readings(data: string): string[][] {
  return [[data], data.split(''), ...Array.from({ length: data.length - 1 }, (_, i) => [data.slice(0, i + 1), data.slice(i + 1)])];
}

for (const mode of ['reject', 'normalize'] as const) {
  t.test(`${mode} mode: a line of 998 octets before its CRLF passes, however it is read`, async (t) => {
    const data = `Subject: x\r\n\r\n${'a'.repeat(998)}\r\n${'b'.repeat(998)}\r\nend\r\n`;
    const passed = await Promise.all(readings(data).map((chunks) => guard(chunks, mode)));
    t.same(
      passed.filter((result) => result !== data),
      [],
      'passed on unchanged',
    );
  });

  t.test(`${mode} mode: a line of 999 octets is refused with 550 5.5.2, however it is read`, async (t) => {
    for (const data of [`Subject: x\r\n\r\n${'a'.repeat(999)}\r\nend\r\n`, `X-Long: ${'h'.repeat(991)}\r\n\r\nbody\r\n`, `Subject: x\r\n\r\nlast line ${'z'.repeat(989)}\r\n`]) {
      const results = await Promise.all(readings(data).map((chunks) => guard(chunks, mode)));
      t.same(
        results.filter((result) => !(result instanceof DataRefusal && result.responseCode === 550 && result.message === LONG_LINE)),
        [],
        `${JSON.stringify(data.slice(0, 12))}…: refused every time`,
      );
    }
  });

  t.test(`${mode} mode: a line that never ends is refused before the data does`, async (t) => {
    const result = await guard(['Subject: x\r\n\r\n', 'x'.repeat(500), 'x'.repeat(500), 'x'.repeat(500)], mode);
    t.type(result, DataRefusal);
    t.equal((result as DataRefusal).message, LONG_LINE);
  });
}

t.test('normalize mode counts a repaired line ending as the end of the line', async (t) => {
  const data = `${'a'.repeat(998)}\n${'b'.repeat(998)}\r${'c'.repeat(998)}\r\n`;
  t.equal(await guard(data.split(''), 'normalize'), `${'a'.repeat(998)}\r\n${'b'.repeat(998)}\r\n${'c'.repeat(998)}\r\n`);
});
