// Reporting periods: `tlsRpt.interval` long, counted from 00:00 UTC (the interval divides
// a day, so every day begins a period). RFC 8460 §4.1 asks for one report per day,
// 00:00 to 24:00 UTC; shorter periods are for tests.

export interface ReportPeriod {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive: the start of the next period. */
  end: number;
}

/** The period `time` lies in. The epoch began at 00:00 UTC, so counting from it aligns to midnight. */
export function periodOf(time: number, interval: number): ReportPeriod {
  const start = Math.floor(time / interval) * interval;
  return { start, end: start + interval };
}

/**
 * The periods a report may still be due for at `now`: those that ended within `lookback`
 * ms, oldest first, the latest included however short the lookback. A relay that was down
 * longer than that does not report what lies before.
 */
export function periodsToReport(now: number, interval: number, lookback: number): ReportPeriod[] {
  const latest = periodOf(now, interval).start - interval;
  const periods: ReportPeriod[] = [];
  for (let start = latest; start === latest || start + interval > now - lookback; start -= interval) periods.unshift({ start, end: start + interval });
  return periods;
}
