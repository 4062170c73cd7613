import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../src/log.js';
import { Spool } from '../../src/queue/spool.js';
import { LEFTOVER_GRACE_MS } from '../../src/queue/spoolRecovery.js';
import type { Envelope, NewMessage } from '../../src/queue/types.js';

const message: NewMessage = { from: 'alice@a.test', recipients: [{ address: 'bob@b.test', domain: 'b.test' }] };
const body = 'Subject: hi\r\n\r\nbody\r\n';

interface LogLine {
  level: number;
  msg: string;
  reason?: string;
  file?: string;
  quarantinedAs?: string;
}

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) }), lines };
}

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

async function age(path: string): Promise<void> {
  const past = new Date(Date.now() - LEFTOVER_GRACE_MS - 60_000);
  await utimes(path, past, past);
}

async function storeOne(spool: Spool): Promise<Envelope> {
  return spool.store(message, Readable.from([body]));
}

t.test('damaged envelopes go to quarantine with their data, good ones stay', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, createLogger('silent'));
  const good = await storeOne(spool);
  const truncated = await storeOne(spool);
  const invalid = await storeOne(spool);
  const resized = await storeOne(spool);
  const dataless = await storeOne(spool);
  const misnamed = await storeOne(spool);
  const env = (e: Envelope) => join(dir, 'env', `${e.id}.json`);

  const truncatedText = (await readFile(env(truncated), 'utf8')).slice(0, 40);
  await writeFile(env(truncated), truncatedText);
  await writeFile(env(invalid), JSON.stringify({ ...invalid, recipients: [{ ...invalid.recipients[0], state: 'sent' }] }));
  await writeFile(join(dir, 'data', resized.id), body + 'appended by something');
  await rm(join(dir, 'data', dataless.id));
  await writeFile(env(misnamed), JSON.stringify({ ...misnamed, id: good.id }));
  await writeFile(join(dir, 'env', 'notes.txt'), 'garbage');
  await mkdir(join(dir, 'env', 'a-folder'));

  const { logger, lines } = capturingLogger();
  const reopened = await Spool.open(dir, logger);

  t.same((await reopened.list()).map((e) => e.id), [good.id], 'only the good message is queued');
  t.same(await files(join(dir, 'env')), [`${good.id}.json`]);
  t.same(await files(join(dir, 'data')), [good.id]);
  t.same(
    await files(join(dir, 'quarantine')),
    [
      `${truncated.id}.json`,
      `${truncated.id}.eml`,
      `${invalid.id}.json`,
      `${invalid.id}.eml`,
      `${resized.id}.json`,
      `${resized.id}.eml`,
      `${dataless.id}.json`,
      `${misnamed.id}.json`,
      `${misnamed.id}.eml`,
      'notes.txt',
      'a-folder',
    ].sort(),
  );
  t.equal(await readFile(join(dir, 'quarantine', `${truncated.id}.json`), 'utf8'), truncatedText, 'quarantined as it was');
  t.equal(await readFile(join(dir, 'quarantine', `${invalid.id}.eml`), 'utf8'), body, 'the message itself is kept');

  const warnings = lines.filter((line) => line.level === 40);
  t.equal(warnings.length, 11, 'one warning per moved file');
  const reasons = warnings.map((w) => w.reason ?? '');
  t.ok(reasons.some((r) => /damaged envelope: not JSON/.test(r)), 'truncated JSON is named');
  t.ok(reasons.some((r) => /recipients\[0\] state is not one of pending, delivered, bounced/.test(r)), 'the bad field is named');
  t.ok(reasons.some((r) => /message file has \d+ bytes, the envelope says \d+/.test(r)), 'a size mismatch is named');
  t.ok(reasons.some((r) => /message file unusable: ENOENT/.test(r)), 'a missing data file is named');
  t.ok(reasons.some((r) => /does not match its file name/.test(r)), 'a misnamed envelope is named');
  t.ok(reasons.some((r) => r === 'not an envelope file'), 'garbage is named');
});

t.test('stale leftovers are removed, fresh ones may belong to a running store', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, createLogger('silent'));
  const good = await storeOne(spool);
  const staleTmp = join(dir, 'tmp', 'aaaaaaaaaaaaaaaaaaaaaaaa.0000.data');
  const freshTmp = join(dir, 'tmp', 'bbbbbbbbbbbbbbbbbbbbbbbb.0000.data');
  const staleOrphan = join(dir, 'data', 'cccccccccccccccccccccccc');
  const freshOrphan = join(dir, 'data', 'dddddddddddddddddddddddd');
  for (const file of [staleTmp, freshTmp, staleOrphan, freshOrphan]) await writeFile(file, 'half a message');
  await age(staleTmp);
  await age(staleOrphan);
  // Data renamed in place long ago, but its envelope is committed: not an orphan.
  await age(join(dir, 'data', good.id));

  const { logger, lines } = capturingLogger();
  const reopened = await Spool.open(dir, logger);
  t.same(await files(join(dir, 'tmp')), ['bbbbbbbbbbbbbbbbbbbbbbbb.0000.data']);
  t.same(await files(join(dir, 'data')), [good.id, 'dddddddddddddddddddddddd'].sort());
  t.same(await files(join(dir, 'quarantine')), []);
  t.same((await reopened.list()).map((e) => e.id), [good.id]);
  t.same(
    lines.filter((line) => line.msg === 'spool leftover removed').map((line) => [line.file, line.reason]),
    [
      [staleTmp, 'unfinished write'],
      [staleOrphan, 'message file without envelope'],
    ],
  );
});

t.test('quarantine never overwrites an earlier entry', async (t) => {
  const dir = t.testdir();
  await Spool.open(dir, createLogger('silent'));
  await writeFile(join(dir, 'quarantine', 'notes.txt'), 'first');
  await writeFile(join(dir, 'quarantine', 'notes.txt.1'), 'second');
  await writeFile(join(dir, 'env', 'notes.txt'), 'third');
  await Spool.open(dir, createLogger('silent'));
  t.same(await files(join(dir, 'quarantine')), ['notes.txt', 'notes.txt.1', 'notes.txt.2']);
  t.equal(await readFile(join(dir, 'quarantine', 'notes.txt'), 'utf8'), 'first');
  t.equal(await readFile(join(dir, 'quarantine', 'notes.txt.2'), 'utf8'), 'third');
});

t.test('recovery of a sound spool changes nothing', async (t) => {
  const dir = t.testdir();
  const spool = await Spool.open(dir, createLogger('silent'));
  const one = await storeOne(spool);
  const two = await storeOne(spool);
  const { logger, lines } = capturingLogger();
  const reopened = await Spool.open(dir, logger);
  t.same((await reopened.list()).map((e) => e.id).sort(), [one.id, two.id].sort());
  t.same(lines, [], 'nothing to report');
});
