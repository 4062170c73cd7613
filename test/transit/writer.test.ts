// The batching writer on a real folder: records reach their UTC day file of this
// instance when the batch is written, never before and never as a rewrite; a folder that
// cannot be written keeps them (and delivery, which only calls add(), never notices);
// retention deletes whole day files, whoever wrote them.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log.js';
import { dayFileName, transitDir } from '../../src/transit/dayFiles.js';
import { TransitWriter } from '../../src/transit/writer.js';
import { sessionRecord, writeDayFile } from '../helpers/transitRecords.js';
import { until } from '../helpers/until.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger('info', { write: (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>) }), lines };
}

const linesOf = (path: string): unknown[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

t.test('records go to the UTC day file of this instance when the batch is written', async (t) => {
  const queue = t.testdir();
  const { logger } = capturedLogger();
  const writer = await TransitWriter.open(queue, logger, 30 * DAY);
  t.teardown(() => writer.close());
  const late = sessionRecord({ at: '2026-12-01T23:59:59.999Z', domain: 'a.test' });
  const early = sessionRecord({ at: '2026-12-02T00:00:00.000Z', domain: 'b.test' });
  const next = sessionRecord({ at: '2026-12-02T08:00:00.000Z', domain: 'c.test' });
  writer.add(late);
  writer.add(early);
  writer.add(next);
  t.same(readdirSync(queue), [], 'add() writes nothing: not even the folder');
  await writer.flush();
  const dir = transitDir(queue);
  t.same(readdirSync(dir).sort(), [dayFileName('2026-12-01', writer.instance), dayFileName('2026-12-02', writer.instance)]);
  t.same(linesOf(join(dir, dayFileName('2026-12-01', writer.instance))), [late]);
  t.same(linesOf(join(dir, dayFileName('2026-12-02', writer.instance))), [early, next]);
  t.equal(statSync(join(dir, dayFileName('2026-12-02', writer.instance))).mode & 0o777, 0o600, 'only the relay user reads them');

  const after = sessionRecord({ at: '2026-12-02T09:00:00.000Z', domain: 'd.test' });
  writer.add(after);
  await writer.close();
  t.same(linesOf(join(dir, dayFileName('2026-12-02', writer.instance))), [early, next, after], 'close() appends the rest; nothing is rewritten');
  writer.add(sessionRecord({ at: '2026-12-02T10:00:00.000Z' }));
  await writer.flush();
  t.equal(linesOf(join(dir, dayFileName('2026-12-02', writer.instance))).length, 3, 'a record added after close() is not written');
});

t.test('the timer writes the batch without being asked', async (t) => {
  const queue = t.testdir();
  const writer = await TransitWriter.open(queue, capturedLogger().logger, 30 * DAY);
  t.teardown(() => writer.close());
  const record = sessionRecord();
  writer.add(record);
  const file = (): string[] => {
    try {
      return readdirSync(transitDir(queue));
    } catch {
      return [];
    }
  };
  await until(() => file().length > 0);
  t.same(linesOf(join(transitDir(queue), file()[0]!)), [record]);
});

t.test('two relays on one spool write files of their own', async (t) => {
  const queue = t.testdir();
  const first = await TransitWriter.open(queue, capturedLogger().logger, 30 * DAY);
  const second = await TransitWriter.open(queue, capturedLogger().logger, 30 * DAY);
  t.not(first.instance, second.instance);
  const at = new Date().toISOString();
  first.add(sessionRecord({ at, domain: 'first.test' }));
  second.add(sessionRecord({ at, domain: 'second.test' }));
  await Promise.all([first.close(), second.close()]);
  const files = readdirSync(transitDir(queue)).sort();
  t.equal(files.length, 2);
  t.same(files.map((name) => (linesOf(join(transitDir(queue), name))[0] as { domain: string }).domain).sort(), ['first.test', 'second.test']);
});

t.test('a folder that cannot be written keeps the records and says so once', async (t) => {
  const queue = t.testdir();
  const { logger, lines } = capturedLogger();
  const writer = await TransitWriter.open(queue, logger, 30 * DAY);
  t.teardown(() => writer.close());
  // a file where the folder should be: mkdir and every write fail, as on a broken disk
  writeFileSync(transitDir(queue), 'not a folder');
  const records = [sessionRecord({ domain: 'one.test' }), sessionRecord({ domain: 'two.test' })];
  t.doesNotThrow(() => writer.add(records[0]!));
  await writer.flush();
  writer.add(records[1]!);
  await writer.flush();
  const warnings = lines.filter((line) => line.msg === 'cannot write the transit record; its records are kept and written again');
  t.equal(warnings.length, 1, 'one warning for the failing streak, not one per batch');
  t.match(warnings[0], { level: 40, kept: 1, err: String });

  rmSync(transitDir(queue));
  await writer.flush();
  const [name] = readdirSync(transitDir(queue));
  t.same(linesOf(join(transitDir(queue), name!)), records, 'kept records are written in their order once the folder works');
  t.match(lines.at(-1), { msg: 'transit record written again', dropped: 0 });
});

t.test('records that cannot be written: the oldest beyond 100,000 are dropped, and what is left at close() is said to be lost', async (t) => {
  const queue = t.testdir();
  const { logger, lines } = capturedLogger();
  const writer = await TransitWriter.open(queue, logger, 30 * DAY);
  writeFileSync(transitDir(queue), 'not a folder');
  const first = sessionRecord({ domain: 'first.test' });
  writer.add(first);
  for (let n = 0; n < 100_000; n++) writer.add(sessionRecord({ domain: `d${n}.test` }));
  await writer.flush();
  t.match(lines.at(-1), { msg: 'cannot write the transit record; its records are kept and written again', kept: 100_000 });
  rmSync(transitDir(queue));
  await writer.flush();
  const [name] = readdirSync(transitDir(queue));
  const written = linesOf(join(transitDir(queue), name!)) as Array<{ domain: string }>;
  t.equal(written.length, 100_000);
  t.equal(written[0]!.domain, 'd0.test', 'the oldest record was dropped');
  t.match(lines.at(-1), { msg: 'transit record written again', dropped: 1 });

  rmSync(transitDir(queue), { recursive: true });
  writeFileSync(transitDir(queue), 'not a folder');
  writer.add(sessionRecord());
  await writer.close();
  t.match(lines.at(-1), { level: 50, msg: 'transit records not written at shutdown are lost (the mail is not)', records: 1 });
});

t.test('retention deletes whole day files past it, of any instance, and nothing else', async (t) => {
  const queue = t.testdir();
  const { logger, lines } = capturedLogger();
  // opened first: its own look at the start goes by the clock, this test by `now`
  const writer = await TransitWriter.open(queue, logger, 30 * DAY);
  t.teardown(() => writer.close());
  const now = Date.parse('2026-12-02T12:00:00Z');
  writeDayFile(queue, 'gone-1', [sessionRecord({ at: '2026-11-01T23:59:00Z' })]);
  writeDayFile(queue, 'kept-1', [sessionRecord({ at: '2026-11-02T00:00:00Z' })]);
  writeDayFile(queue, 'kept-2', [sessionRecord({ at: '2026-12-01T10:00:00Z' })]);
  writeFileSync(join(transitDir(queue), 'notes.txt'), 'an operator file');
  await writer.prune(now);
  t.same(
    readdirSync(transitDir(queue)).sort(),
    ['2026-11-02.kept-1.jsonl', '2026-12-01.kept-2.jsonl', 'notes.txt'],
    'the day 2026-11-01 ended more than 30d before now; 2026-11-02 ended 29.5d before',
  );
  t.match(lines.find((line) => line.msg === 'transit record: day files past report.retention deleted'), { files: ['2026-11-01.gone-1.jsonl'] });

  writer.retainFor(12 * HOUR);
  await writer.prune(now);
  t.same(readdirSync(transitDir(queue)), ['notes.txt'], 'a reloaded retention counts at the next look: 2026-12-01 ended 12h before now');
});
