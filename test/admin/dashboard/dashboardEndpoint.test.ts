// The dashboard's HTTP edge over a real spool folder: the period from ?since=, the transit
// record read from its day files, the page's headers, and a bad period refused with 400.
import t from 'tap';
import { join } from 'node:path';
import { dashboardAnswer, periodOf, type DashboardSources } from '../../../src/admin/dashboard/dashboardEndpoint.js';
import type { DashboardData } from '../../../src/admin/dashboard/dashboardData.js';
import { sessionRecord, writeDayFile } from '../../helpers/transitRecords.js';
import { testConfig } from '../../helpers/testConfig.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

t.test('the period: 24 h unless ?since= names another duration', async (t) => {
  t.same(periodOf('/'), { ok: true, text: '24h', ms: DAY });
  t.same(periodOf('/?since=7d'), { ok: true, text: '7d', ms: 7 * DAY });
  t.same(periodOf('/api/dashboard?since=30m&x=1'), { ok: true, text: '30m', ms: 30 * 60_000 });
  for (const bad of ['abc', '0h', '1.5h', '', '-1d']) t.same(periodOf(`/?since=${encodeURIComponent(bad)}`), { ok: false, problem: `since "${bad}" is not a duration such as 30m, 24h or 7d` }, bad);
});

t.test('answers from the queue, the transit record and the dated material', async (t) => {
  const spool = t.testdir();
  const now = new Date();
  writeDayFile(spool, 'a', [sessionRecord({ domain: 'recent.test', at: new Date(now.getTime() - 2 * HOUR).toISOString() })], '{"torn":');
  writeDayFile(spool, 'b', [sessionRecord({ domain: 'older.test', at: new Date(now.getTime() - 3 * DAY).toISOString() })]);
  let listings = 0;
  const sources: DashboardSources = {
    config: () => testConfig({ queue: { ...testConfig().queue, dir: spool } }),
    queue: () => {
      listings++;
      return [];
    },
    dated: () => [{ kind: 'certificate', setting: 'tls.cert', file: join(spool, 'relay.crt'), place: undefined, subject: 'CN=relay.test', end: new Date(now.getTime() + 40 * DAY + HOUR) }],
  };

  const data = await dashboardAnswer('dashboard-data', '/api/dashboard', sources, now);
  t.equal(data.status, 200);
  t.match(data.headers, { 'Content-Type': 'application/json; charset=utf-8' });
  const body = JSON.parse(data.body) as DashboardData;
  t.same(body.sessions.rows.map((row) => row.domain), ['recent.test'], 'the last 24 h by default');
  t.equal(body.sessions.skippedRecords, 1, 'the torn line is counted, not shown');
  t.equal(body.certificates[0]!.daysLeft, 40);
  t.equal(body.since, new Date(now.getTime() - DAY).toISOString());

  const week = JSON.parse((await dashboardAnswer('dashboard-data', '/api/dashboard?since=7d', sources, now)).body) as DashboardData;
  t.same(week.sessions.rows.map((row) => row.domain).sort(), ['older.test', 'recent.test']);

  const page = await dashboardAnswer('dashboard', '/', sources, now);
  t.equal(page.status, 200);
  t.match(page.headers, { 'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  t.match(String(page.headers['Content-Security-Policy']), /^default-src 'none'; style-src 'unsafe-inline';/, 'no script, no file from elsewhere');
  t.match(page.body, 'Delivery sessions per partner, the last 24h');
  t.match(page.body, '<td>recent.test</td>');
  t.equal(listings, 3, 'the queue is read for each answer');
});

t.test('a bad period is a 400 that says why, and nothing is read', async (t) => {
  const sources: DashboardSources = {
    config: () => t.fail('no config read') as never,
    queue: () => t.fail('no queue read') as never,
    dated: () => t.fail('nothing dated read') as never,
  };
  const answer = await dashboardAnswer('dashboard', '/?since=soon', sources);
  t.same(answer, { status: 400, body: 'since "soon" is not a duration such as 30m, 24h or 7d\n', headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
});

t.test('a spool where no relay has recorded a session yet', async (t) => {
  const sources: DashboardSources = { config: () => testConfig({ queue: { ...testConfig().queue, dir: t.testdir() } }), queue: () => [], dated: () => [] };
  const body = JSON.parse((await dashboardAnswer('dashboard-data', '/api/dashboard', sources)).body) as DashboardData;
  t.same(body.sessions.rows, []);
  t.equal(body.hostname, 'relay.test');
});
