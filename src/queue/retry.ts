/** Spread retries by ±10 % so that messages deferred together do not all come back together. */
const JITTER = 0.1;

/**
 * The delay before the next attempt after the `failures`-th failed round: step
 * `failures` of `schedule` (1-based; the last step repeats), jittered by `random`
 * (a number in [0, 1), as Math.random gives).
 */
export function nextRetryDelay(schedule: number[], failures: number, random: () => number = Math.random): number {
  if (schedule.length === 0) throw new RangeError('the retry schedule is empty');
  const step = schedule[Math.min(Math.max(failures, 1), schedule.length) - 1];
  return Math.round(step * (1 + JITTER * (2 * random() - 1)));
}
