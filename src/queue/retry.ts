/** Spread retries by ±10 % so that messages deferred together do not all come back together. */
const JITTER = 0.1;

/** Step `failures` of `schedule` (1-based; the last step repeats), without jitter. */
export function retryStep(schedule: number[], failures: number): number {
  if (schedule.length === 0) throw new RangeError('the retry schedule is empty');
  return schedule[Math.min(Math.max(failures, 1), schedule.length) - 1];
}

/**
 * The delay before the next attempt after the `failures`-th failed round: step
 * `failures` of `schedule`, jittered by `random` (a number in [0, 1), as Math.random gives).
 */
export function nextRetryDelay(schedule: number[], failures: number, random: () => number = Math.random): number {
  return Math.round(retryStep(schedule, failures) * (1 + JITTER * (2 * random() - 1)));
}
