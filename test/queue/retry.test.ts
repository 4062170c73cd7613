import t from 'tap';
import { nextRetryDelay } from '../../src/queue/retry.js';

const schedule = [60_000, 300_000, 900_000];
const middle = () => 0.5;

t.test('the n-th failure takes the n-th step, the last one repeats', async (t) => {
  t.equal(nextRetryDelay(schedule, 1, middle), 60_000);
  t.equal(nextRetryDelay(schedule, 2, middle), 300_000);
  t.equal(nextRetryDelay(schedule, 3, middle), 900_000);
  t.equal(nextRetryDelay(schedule, 4, middle), 900_000);
  t.equal(nextRetryDelay(schedule, 1000, middle), 900_000);
  t.equal(nextRetryDelay(schedule, 0, middle), 60_000, 'no failure yet counts as the first');
  t.equal(nextRetryDelay([120_000], 5, middle), 120_000, 'a one-step schedule');
});

t.test('jitter is ±10 % from the injected random', async (t) => {
  t.equal(nextRetryDelay(schedule, 2, () => 0), 270_000);
  t.equal(nextRetryDelay(schedule, 2, () => 0.75), 315_000);
  t.ok(nextRetryDelay(schedule, 2, () => 0.999999) <= 330_000);
  t.ok(nextRetryDelay(schedule, 2, () => 0.999999) > 329_000);
});

t.test('the default random stays within the band', async (t) => {
  const delays = Array.from({ length: 200 }, () => nextRetryDelay(schedule, 1));
  t.same(
    delays.filter((delay) => delay < 54_000 || delay > 66_000),
    [],
    'every delay within 54–66 s',
  );
});

t.test('an empty schedule is a clear error', async (t) => {
  t.throws(() => nextRetryDelay([], 1), /the retry schedule is empty/);
});
