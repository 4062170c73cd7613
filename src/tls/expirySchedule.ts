// When to warn that something dated runs out — a served certificate, a tls.trust anchor,
// a CRL's nextUpdate: 30, 14 and 7 days before, then every day, and every day after it
// passed. Pure functions of the instant it runs out, now, and when it was last warned
// about, so that a restart, a reload and the daily check all agree and tests need no clock.

export const DAY_MS = 86_400_000;

/** Days before the end at which a warning is due; the last week, daily. */
export const WARNING_DAYS = [30, 14, 7, 6, 5, 4, 3, 2, 1] as const;

/** Whole days from `now` until `end`: 10 for 10 days and 3 hours, -1 within the first day past it. */
export function daysLeft(end: Date, now: Date): number {
  return Math.floor((end.getTime() - now.getTime()) / DAY_MS);
}

/**
 * How many warning instants lie at or before `time`: those before the end (WARNING_DAYS),
 * the end itself, and one a day after it.
 */
function instantsUpTo(end: Date, time: Date): number {
  const before = WARNING_DAYS.filter((days) => end.getTime() - days * DAY_MS <= time.getTime()).length;
  const since = time.getTime() - end.getTime();
  return since < 0 ? before : before + 1 + Math.floor(since / DAY_MS);
}

/**
 * Whether a warning is due at `now`: a warning instant has come since `lastWarned` (or at
 * all, when it was never warned about — the first check after a start or a new file).
 */
export function warningDue(end: Date, now: Date, lastWarned: Date | undefined): boolean {
  return instantsUpTo(end, now) > (lastWarned === undefined ? 0 : instantsUpTo(end, lastWarned));
}

/** The first warning instant after `now`. */
export function nextWarningAt(end: Date, now: Date): Date {
  const ahead = WARNING_DAYS.map((days) => end.getTime() - days * DAY_MS).find((instant) => instant > now.getTime());
  if (ahead !== undefined) return new Date(ahead);
  if (now < end) return end;
  return new Date(end.getTime() + (Math.floor((now.getTime() - end.getTime()) / DAY_MS) + 1) * DAY_MS);
}

/**
 * When to look again: the next warning instant of any of `ends`, and within a day at
 * most — a clock set forward, or a connector's CRL replaced since, is noticed by then.
 */
export function nextCheckAt(ends: readonly Date[], now: Date): Date {
  return new Date(Math.min(now.getTime() + DAY_MS, ...ends.map((end) => nextWarningAt(end, now).getTime())));
}
