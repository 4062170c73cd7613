// When expiry warnings are due: 30, 14 and 7 days before the end, daily in the last week,
// and daily once it has passed — from fixed dates, with no clock and no waiting.
import t from 'tap';
import { daysLeft, nextCheckAt, nextWarningAt, warningDue } from '../../src/tls/expirySchedule.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const END = new Date('2027-03-31T12:00:00.000Z');
const at = (offset: number): Date => new Date(END.getTime() + offset);

/** Checks every `step` from `from` to `to`, as a relay that never stops would; the instants it warned at. */
function warnedAt(from: number, to: number, step: number, end = END): number[] {
  const warned: number[] = [];
  let last: Date | undefined;
  for (let offset = from; offset <= to; offset += step) {
    if (warningDue(end, at(offset), last)) {
      warned.push(offset);
      last = at(offset);
    }
  }
  return warned;
}

t.test('checked every hour from 40 days before to 3 days after: one warning at each instant, none in between', async (t) => {
  const expected = [30, 14, 7, 6, 5, 4, 3, 2, 1].map((days) => -days * DAY).concat([0, DAY, 2 * DAY, 3 * DAY]);
  t.strictSame(warnedAt(-40 * DAY, 3 * DAY, HOUR), expected);
});

t.test('checked every 5 minutes: still once per instant, at the first check after it', async (t) => {
  const warned = warnedAt(-31 * DAY + 3 * 60_000, -5 * DAY - HOUR, 5 * 60_000);
  t.strictSame(
    warned.map((offset) => Math.ceil(-offset / DAY)),
    [30, 14, 7, 6],
    'the 30, 14, 7 and 6 day instants',
  );
  t.ok(warned.every((offset, index) => offset - [-30, -14, -7, -6][index]! * DAY < 5 * 60_000), 'each within one check of its instant');
});

t.test('never warned about (a start, a new file): due anywhere within 30 days or after the end, not before', async (t) => {
  t.equal(warningDue(END, at(-30 * DAY - 1), undefined), false, 'a millisecond before the 30 days');
  t.equal(warningDue(END, at(-30 * DAY), undefined), true, 'at 30 days');
  t.equal(warningDue(END, at(-20 * DAY), undefined), true, 'at 20 days');
  t.equal(warningDue(END, at(10 * DAY), undefined), true, 'after the end');
});

t.test('a check that missed several instants (a machine asleep) warns once, not once for each', async (t) => {
  t.equal(warningDue(END, at(-5 * DAY), at(-20 * DAY)), true, 'asleep from 20 to 5 days before: one warning');
  t.equal(warningDue(END, at(-5 * DAY + HOUR), at(-5 * DAY)), false, 'and none an hour later');
});

t.test('between instants, nothing is due again', async (t) => {
  t.equal(warningDue(END, at(-15 * DAY), at(-30 * DAY)), false, 'from 30 to 14 days: quiet');
  t.equal(warningDue(END, at(-7 * DAY - 1), at(-14 * DAY)), false, 'a millisecond before 7 days');
  t.equal(warningDue(END, at(DAY - 1), at(0)), false, 'the first day after the end');
  t.equal(warningDue(END, at(DAY), at(0)), true, 'then daily');
});

t.test('nextWarningAt: the first instant after now', async (t) => {
  t.strictSame(nextWarningAt(END, at(-90 * DAY)), at(-30 * DAY));
  t.strictSame(nextWarningAt(END, at(-30 * DAY)), at(-14 * DAY), 'an instant itself is not after itself');
  t.strictSame(nextWarningAt(END, at(-10 * DAY)), at(-7 * DAY));
  t.strictSame(nextWarningAt(END, at(-2 * DAY - HOUR)), at(-2 * DAY));
  t.strictSame(nextWarningAt(END, at(-HOUR)), END);
  t.strictSame(nextWarningAt(END, at(0)), at(DAY));
  t.strictSame(nextWarningAt(END, at(3 * DAY + HOUR)), at(4 * DAY));
});

t.test('nextCheckAt: the nearest next instant, a day ahead at most', async (t) => {
  const now = at(-40 * DAY);
  t.strictSame(nextCheckAt([], now), at(-39 * DAY), 'nothing dated: in a day');
  t.strictSame(nextCheckAt([END], now), at(-39 * DAY), '30 days before is further than a day');
  t.strictSame(nextCheckAt([END, at(-10 * DAY + 30 * DAY + 2 * HOUR)], at(-10 * DAY)), at(-10 * DAY + 2 * HOUR), 'the other one reaches its 30 days in two hours');
  t.strictSame(nextCheckAt([END], at(-7 * DAY - HOUR)), at(-7 * DAY));
});

t.test('daysLeft counts whole days, and negative past the end', async (t) => {
  t.equal(daysLeft(END, at(-10 * DAY - 3 * HOUR)), 10);
  t.equal(daysLeft(END, at(-HOUR)), 0);
  t.equal(daysLeft(END, at(2 * HOUR)), -1);
  t.equal(daysLeft(END, at(DAY + 2 * HOUR)), -2);
});
