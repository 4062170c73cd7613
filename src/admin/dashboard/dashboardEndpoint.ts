import type { OutgoingHttpHeaders } from 'node:http';
import { parseDuration } from '../../config/duration.js';
import type { Config } from '../../config/types.js';
import type { Envelope } from '../../queue/types.js';
import type { Dated } from '../../tls/dated.js';
import { scanTransit } from '../../transit/reader.js';
import { dashboardData, type DashboardData } from './dashboardData.js';
import { dashboardPage } from './page.js';
import { SessionTally } from './sessionShares.js';

// The edge of the dashboard: reads the queue, the transit record and the dated material
// of the running relay, and answers GET / with the page and GET /api/dashboard with the
// same data as JSON. It reads and changes nothing else.

/** What the dashboard reads from the running relay. */
export interface DashboardSources {
  /** The running config (a reload may replace it; one request reads one snapshot). */
  config(): Config;
  /** The queued messages as the delivery agent knows them (what the queue metrics count too): no read of the store. */
  queue(): Iterable<Envelope>;
  /** Served certificates, trust anchors and CRLs, with when each runs out. */
  dated(): Dated[];
}

/** The two admin endpoints of the dashboard: the page at GET /, its data at GET /api/dashboard. */
export type DashboardView = 'dashboard' | 'dashboard-data';

export interface DashboardAnswer {
  status: number;
  body: string;
  headers: OutgoingHttpHeaders;
}

export const DEFAULT_PERIOD = '24h';

/**
 * The page runs nothing and loads nothing: no script, no frame, no file from elsewhere —
 * a domain or reply that got past the escaping would still be inert.
 */
const PAGE_HEADERS: OutgoingHttpHeaders = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const DATA_HEADERS: OutgoingHttpHeaders = { 'Content-Type': 'application/json; charset=utf-8', 'X-Content-Type-Options': 'nosniff' };

export type PeriodRequest = { ok: true; text: string; ms: number } | { ok: false; problem: string };

/** `?since=7d`: the period of the sessions shown, 24 h when not given. */
export function periodOf(url: string): PeriodRequest {
  const text = new URL(url, 'http://admin').searchParams.get('since') ?? DEFAULT_PERIOD;
  const ms = parseDuration(text);
  if (ms === undefined || ms === 0) return { ok: false, problem: `since "${text}" is not a duration such as 30m, 24h or 7d` };
  return { ok: true, text, ms };
}

async function gather(sources: DashboardSources, sinceMs: number, now: Date): Promise<DashboardData> {
  const config = sources.config();
  const since = new Date(now.getTime() - sinceMs);
  const tally = new SessionTally();
  const envelopes = [...sources.queue()];
  const scan = await scanTransit(config.queue.dir, { since: since.getTime() }, (record) => tally.add(record));
  return dashboardData({ config, envelopes, sessions: tally.view(), skippedRecords: scan.skipped, dated: sources.dated(), since, now });
}

/** The answer to GET / or GET /api/dashboard at `url` (its query names the period). */
export async function dashboardAnswer(view: DashboardView, url: string, sources: DashboardSources, now = new Date()): Promise<DashboardAnswer> {
  const period = periodOf(url);
  if (!period.ok) return { status: 400, body: `${period.problem}\n`, headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
  const data = await gather(sources, period.ms, now);
  if (view === 'dashboard-data') return { status: 200, body: `${JSON.stringify(data, null, 2)}\n`, headers: DATA_HEADERS };
  return { status: 200, body: dashboardPage(data, `the last ${period.text}`), headers: PAGE_HEADERS };
}
