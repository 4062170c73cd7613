import t from 'tap';
import { dayFileName, dayOfFile, expiredFiles, filesSince, utcDay } from '../../src/transit/dayFiles.js';

const DAY = 86_400_000;

t.test('day file names', async (t) => {
  t.equal(utcDay(new Date('2026-12-01T23:59:59.999-01:00')), '2026-12-02', 'the UTC day, whatever the zone of the time');
  t.equal(dayFileName('2026-12-02', '4242-a1b2c3'), '2026-12-02.4242-a1b2c3.jsonl');
  t.equal(dayOfFile('2026-12-02.4242-a1b2c3.jsonl'), '2026-12-02');
  for (const stray of ['2026-12-02.jsonl', 'notes.txt', '2026-13-45.x.jsonl', '.2026-12-02.x.jsonl.tmp', '2026-12-02.a.b.jsonl']) {
    t.equal(dayOfFile(stray), undefined, `${stray} is not a day file`);
  }
});

t.test('a day file expires once its day ended longer than the retention ago', async (t) => {
  const names = ['2026-11-01.a.jsonl', '2026-11-02.a.jsonl', '2026-11-02.b.jsonl', 'notes.txt'];
  const now = Date.parse('2026-12-02T00:00:00Z');
  t.same(expiredFiles(names, now, 30 * DAY), ['2026-11-01.a.jsonl'], '2026-11-01 ended on 2026-11-02T00:00Z, 30 days before now');
  t.same(expiredFiles(names, now - 1, 30 * DAY), [], 'a millisecond earlier, it still has a record within the retention');
  t.same(expiredFiles(names, now, 29 * DAY), ['2026-11-01.a.jsonl', '2026-11-02.a.jsonl', '2026-11-02.b.jsonl']);
});

t.test('the files a period reads', async (t) => {
  const names = ['2026-11-30.a.jsonl', '2026-12-01.a.jsonl', '2026-12-02.b.jsonl', 'notes.txt'];
  t.same(filesSince(names, Date.parse('2026-12-01T00:00:00Z')), ['2026-12-01.a.jsonl', '2026-12-02.b.jsonl']);
  t.same(filesSince(names, Date.parse('2026-11-30T23:59:59.999Z')), ['2026-11-30.a.jsonl', '2026-12-01.a.jsonl', '2026-12-02.b.jsonl']);
});
