import t from 'tap';
import { MessageDataGuard, DataRefusal } from '../../src/inbound/messageDataGuard.js';

/** Feeds the chunks exactly as given (so splits across reads are exercised) and collects the result. */
function guard(chunks: string[], mode: 'reject' | 'normalize', maxSize = 1 << 20): string | DataRefusal {
  const checks = new MessageDataGuard({ bareLineEndings: mode, maxSize });
  const passed: Buffer[] = [];
  for (const chunk of chunks) {
    const out = checks.accept(Buffer.from(chunk, 'latin1'));
    if (out instanceof DataRefusal) return out;
    passed.push(out);
  }
  const tail = checks.finish();
  if (tail instanceof DataRefusal) return tail;
  return Buffer.concat(tail === undefined ? passed : [...passed, tail]).toString('latin1');
}

const clean = 'Subject: hi\r\n\r\nline one\r\nline two\r\n';

t.test('clean CRLF data passes unchanged in both modes', async (t) => {
  t.equal(guard([clean], 'reject'), clean);
  t.equal(guard([clean], 'normalize'), clean);
});

t.test('a CRLF split across reads is not mistaken for a bare CR', async (t) => {
  t.equal(guard(['Subject: hi\r', '\n\r\nbody\r', '\n'], 'reject'), 'Subject: hi\r\n\r\nbody\r\n');
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
    const result = guard([data], 'reject');
    t.type(result, DataRefusal);
    t.equal((result as DataRefusal).responseCode, 550);
    t.equal((result as DataRefusal).message, '5.5.2 Error: bare <CR> or <LF> received');
  });
  t.test(`reject mode refuses ${name} split one byte per read`, async (t) => {
    const result = guard(data.split(''), 'reject');
    t.type(result, DataRefusal);
  });
  t.test(`normalize mode turns ${name} into CRLF only`, async (t) => {
    const result = guard(data.split(''), 'normalize');
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
        const result = guard(chunks, mode);
        t.type(result, DataRefusal);
        t.equal((result as DataRefusal).responseCode, 550);
        t.equal((result as DataRefusal).message, '5.5.2 Error: NUL character received');
      }
    });
  }
}

t.test('a body over the size limit is refused with 552 5.3.4', async (t) => {
  const result = guard(['x'.repeat(600) + '\r\n', 'y'.repeat(600) + '\r\n'], 'reject', 1000);
  t.type(result, DataRefusal);
  t.equal((result as DataRefusal).responseCode, 552);
  t.match((result as DataRefusal).message, /^5\.3\.4 /);
  t.equal(guard(['x'.repeat(998) + '\r\n'], 'reject', 1000), 'x'.repeat(998) + '\r\n', 'exactly the limit passes');
});

const LONG_LINE = '5.5.2 Error: message line longer than 1000 octets, CRLF included (RFC 5321 4.5.3.1.6)';

/** Every way of reading `data` in two, and one byte per read. */
function readings(data: string): string[][] {
  return [[data], data.split(''), ...Array.from({ length: data.length - 1 }, (_, i) => [data.slice(0, i + 1), data.slice(i + 1)])];
}

for (const mode of ['reject', 'normalize'] as const) {
  t.test(`${mode} mode: a line of 998 octets before its CRLF passes, however it is read`, async (t) => {
    const data = `Subject: x\r\n\r\n${'a'.repeat(998)}\r\n${'b'.repeat(998)}\r\nend\r\n`;
    const passed = readings(data).map((chunks) => guard(chunks, mode));
    t.same(
      passed.filter((result) => result !== data),
      [],
      'passed on unchanged',
    );
  });

  t.test(`${mode} mode: a line of 999 octets is refused with 550 5.5.2, however it is read`, async (t) => {
    for (const data of [`Subject: x\r\n\r\n${'a'.repeat(999)}\r\nend\r\n`, `X-Long: ${'h'.repeat(991)}\r\n\r\nbody\r\n`, `Subject: x\r\n\r\nlast line ${'z'.repeat(989)}\r\n`]) {
      const results = readings(data).map((chunks) => guard(chunks, mode));
      t.same(
        results.filter((result) => !(result instanceof DataRefusal && result.responseCode === 550 && result.message === LONG_LINE)),
        [],
        `${JSON.stringify(data.slice(0, 12))}…: refused every time`,
      );
    }
  });

  t.test(`${mode} mode: a line that never ends is refused before the data does`, async (t) => {
    const result = guard(['Subject: x\r\n\r\n', 'x'.repeat(500), 'x'.repeat(500), 'x'.repeat(500)], mode);
    t.type(result, DataRefusal);
    t.equal((result as DataRefusal).message, LONG_LINE);
  });
}

t.test('normalize mode counts a repaired line ending as the end of the line', async (t) => {
  const data = `${'a'.repeat(998)}\n${'b'.repeat(998)}\r${'c'.repeat(998)}\r\n`;
  t.equal(guard(data.split(''), 'normalize'), `${'a'.repeat(998)}\r\n${'b'.repeat(998)}\r\n${'c'.repeat(998)}\r\n`);
});

/** Deterministic pseudo-random numbers (a linear congruential generator), so a failure can be run again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

t.test('on random data read in random pieces, reject refuses exactly the bare CRs and LFs and normalize repairs exactly them', async (t) => {
  const next = random(12);
  const alphabet = ['a', 'b', '.', ' ', '\r', '\n', '\r\n', '\r\n'];
  let mismatches = 0;
  for (let run = 0; run < 2000; run++) {
    const data = Array.from({ length: 1 + Math.floor(next() * 40) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    const chunks: string[] = [];
    for (let at = 0; at < data.length; ) {
      const size = 1 + Math.floor(next() * 8);
      chunks.push(data.slice(at, at + size));
      at += size;
    }
    const bare = /\r(?!\n)|(?<!\r)\n/.test(data);
    const rejected = guard(chunks, 'reject');
    const normalized = guard(chunks, 'normalize');
    if (bare ? !(rejected instanceof DataRefusal) : rejected !== data) mismatches++;
    if (normalized !== data.replace(/\r\n|\r|\n/g, '\r\n')) mismatches++;
  }
  t.equal(mismatches, 0, '2,000 random messages, each judged as the rules say');
});
