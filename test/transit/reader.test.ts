// Reading the transit record from files as relays leave them: several instances, several
// days, a line torn by a crash, a line of a format from another version.
import { join } from 'node:path';
import t from 'tap';
import { scanTransit } from '../../src/transit/reader.js';
import type { TransitRecord } from '../../src/transit/record.js';
import { sessionRecord, writeDayFile } from '../helpers/transitRecords.js';

const at = (iso: string): string => new Date(iso).toISOString();

async function scan(queue: string, since: string, domain?: string): Promise<{ records: TransitRecord[]; files: number; skipped: number }> {
  const records: TransitRecord[] = [];
  const result = await scanTransit(queue, { since: Date.parse(since), ...(domain === undefined ? {} : { domain }) }, (record) => records.push(record));
  return { records, ...result };
}

t.test('records from `since` on, of every instance, torn and foreign lines skipped and counted', async (t) => {
  const queue = t.testdir();
  const dayBefore = sessionRecord({ at: at('2026-11-30T23:00:00Z'), domain: 'a.test' });
  const beforeSince = sessionRecord({ at: at('2026-12-01T05:59:59.999Z'), domain: 'a.test' });
  const atSince = sessionRecord({ at: at('2026-12-01T06:00:00Z'), domain: 'a.test' });
  const other = sessionRecord({ at: at('2026-12-01T07:00:00Z'), domain: 'b.test' });
  const nextDay = sessionRecord({ at: at('2026-12-02T01:00:00Z'), domain: 'a.test' });
  writeDayFile(queue, '100-aaaaaa', [dayBefore]);
  // a crash in the middle of a write leaves half a line at the end of the file
  writeDayFile(queue, '100-aaaaaa', [beforeSince, atSince], '{"v":1,"at":"2026-12-01T06:30:00.000Z","dom');
  writeDayFile(queue, '200-bbbbbb', [other], `${JSON.stringify({ ...other, v: 2 })}\n`);
  writeDayFile(queue, '200-bbbbbb', [nextDay]);

  const all = await scan(queue, '2026-12-01T06:00:00Z');
  t.same(all.records, [atSince, other, nextDay], 'the file of 2026-11-30 is not read, the record before since is left out');
  t.equal(all.files, 3, 'the day files of 2026-12-01 (two instances) and 2026-12-02');
  t.equal(all.skipped, 2, 'the torn line and the line of format 2');

  const onlyA = await scan(queue, '2026-11-30T00:00:00Z', 'a.test');
  t.same(onlyA.records, [dayBefore, beforeSince, atSince, nextDay]);
  t.equal(onlyA.skipped, 0, 'neither the torn line nor the format-2 line (of b.test) names a.test: not even parsed');
});

t.test('a spool without a transit folder has no records yet', async (t) => {
  const result = await scan(join(t.testdir(), 'spool'), '2026-12-01T00:00:00Z');
  t.same(result, { records: [], files: 0, skipped: 0 });
});
