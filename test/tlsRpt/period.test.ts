// Reporting periods counted from 00:00 UTC, and which of them are still due.
import t from 'tap';
import { periodOf, periodsToReport } from '../../src/tlsRpt/period.js';

const DAY = 86_400_000;
const at = (iso: string): number => Date.parse(iso);

t.test('a day period is the UTC day; a shorter one divides it', async (t) => {
  t.same(periodOf(at('2026-12-02T13:45:00Z'), DAY), { start: at('2026-12-02T00:00:00Z'), end: at('2026-12-03T00:00:00Z') });
  t.same(periodOf(at('2026-12-02T00:00:00Z'), DAY).start, at('2026-12-02T00:00:00Z'), 'midnight begins a period');
  t.same(periodOf(at('2026-12-02T13:45:07Z'), 10_000), { start: at('2026-12-02T13:45:00Z'), end: at('2026-12-02T13:45:10Z') });
});

t.test('due: the periods that ended within the lookback, oldest first, the last one always', async (t) => {
  t.same(periodsToReport(at('2026-12-03T00:05:00Z'), DAY, DAY), [{ start: at('2026-12-02T00:00:00Z'), end: at('2026-12-03T00:00:00Z') }]);
  const hour = 3_600_000;
  const due = periodsToReport(at('2026-12-02T13:45:07Z'), 10 * 60_000, hour);
  t.equal(due.length, 6, 'ten-minute periods ending in the last hour');
  t.same(due.at(-1), { start: at('2026-12-02T13:30:00Z'), end: at('2026-12-02T13:40:00Z') });
  t.same(due[0], { start: at('2026-12-02T12:40:00Z'), end: at('2026-12-02T12:50:00Z') });
});
