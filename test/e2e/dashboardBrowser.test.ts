// The dashboard in a real browser: Debian's chromium, headless, driven by puppeteer-core,
// loads GET / of the real relay (node dist/main.js) behind the admin password, after the
// relay delivered to a verified smtp-server sink and to one without STARTTLS, deferred mail
// to a sink whose certificate is for another name and to one whose reply carries a
// <script>, and holds a message for a next hop that is down. What the page shows is
// checked — the queue's numbers, the partner rows and their shares in table and chart, the
// TLS failure, the certificates' days to expiry, the connectors — and a screenshot is
// saved in the test's folder (docs/dashboard.png is one of these).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import type { DashboardData } from '../../src/admin/dashboard/dashboardData.js';
import { hashPassword } from '../../src/config/passwords.js';
import { adminRequest } from '../helpers/adminHttp.js';
import { needsChromium, openBrowser } from '../helpers/browser.js';
import { startSink, type Sink } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { until } from '../helpers/until.js';

const PASSWORD = 'the dashboard, not the relay';
const DAY = 86_400_000;
const HALF_DAY = DAY / 2;
const SCRIPT_REPLY = '451 4.3.0 <script>window.pwned = true</script> try again later';

const ca = await makeCa('dashboard test CA', { notAfter: new Date(Date.now() + 200 * DAY + HALF_DAY) });
const relayCert = await makeCert({ names: ['relay.test'], notAfter: new Date(Date.now() + 40 * DAY + HALF_DAY) });
const sinkCert = await makeCert({ names: ['mx.sink.test'], ca });
const otherNameCert = await makeCert({ names: ['other.test'], ca });

async function accepted(port: number, to: string): Promise<string> {
  const result = await submit({ port, from: 'sender@contoso.test', to: [to], data: sampleMessage(`for ${to}`) });
  if (!result.ok) throw new Error(`refused: ${result.response}`);
  return /queued as (\S+)/.exec(result.response)![1]!;
}

const attempted = (relay: RelayProcess, id: string, outcome: string): Promise<unknown> =>
  relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === outcome, `a ${outcome} attempt of ${id}`);

/** The cells of each body row of a table, as the browser renders their text. */
const tableRows = (page: Page, id: string): Promise<string[][]> =>
  page.$$eval(`#${id} tbody tr`, (rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')));

const countOf = (page: Page, state: string): Promise<string> => page.$eval(`#queue-${state} .value`, (value) => value.textContent ?? '');

t.test('the dashboard of a relay that delivered and deferred, in chromium', needsChromium(), async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'relay.crt'), relayCert.cert);
  writeFileSync(join(dir, 'relay.key'), relayCert.key);
  const sinks: Sink[] = [];
  t.teardown(async () => {
    for (const sink of sinks) await sink.close();
  });
  const verified = await startSink({ tls: 'starttls', cert: sinkCert });
  const otherName = await startSink({ tls: 'starttls', cert: otherNameCert });
  const plaintext = await startSink({ tls: 'none' });
  const scripted = await startSink({ tls: 'none', rcptReplies: { 'user@script.test': SCRIPT_REPLY } });
  sinks.push(verified, otherName, plaintext, scripted);
  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, trust: [ca.crt] }
queue: { dir: spool, retry: [1h] }
inbound:
  - { name: local, match: { ips: [127.0.0.1/32] }, relay: true }
outbound:
  - { name: fabrikam, domains: [fabrikam.test], smartHosts: ["127.0.0.1:${verified.port}"], tls: verify, tlsNames: [mx.sink.test] }
  - { name: wrongname, domains: [wrongname.test], smartHosts: ["127.0.0.1:${otherName.port}"], tls: verify, tlsNames: [mx.wrongname.test] }
  - { name: plain, domains: [plain.test], smartHosts: ["127.0.0.1:${plaintext.port}"] }
  - { name: script, domains: [script.test], smartHosts: ["127.0.0.1:${scripted.port}"] }
  - { name: down, domains: [down.test], smartHosts: ["127.0.0.1:${await freePort()}"] }
admin: { address: 127.0.0.1, port: 0, passwordHash: "${await hashPassword(PASSWORD)}" }
`,
  );
  const relay = startRelay(config);
  t.teardown(() => relay.stop());
  const port = await relay.port();
  const admin = (await relay.waitForLog((line) => line.msg === 'admin listening', 'the admin listener')).port as number;

  const delivered = [await accepted(port, 'user@fabrikam.test'), await accepted(port, 'user@plain.test')];
  const deferred = [await accepted(port, 'user@wrongname.test'), await accepted(port, 'user@script.test')];
  const held = await accepted(port, 'user@down.test');
  for (const id of delivered) await attempted(relay, id, 'delivered');
  for (const id of [...deferred, held]) await attempted(relay, id, 'deferred');
  const hold = await runCli(['queue', 'hold', held, '-c', config]);
  t.equal(hold.code, 0, hold.stderr);

  t.equal((await adminRequest(admin, '/')).status, 401, 'the dashboard asks for the admin password, as /metrics does');
  // the agent learns of the hold from the queue's change signal, the sessions from the transit record's next write
  await until(async () => {
    const data = JSON.parse((await adminRequest(admin, '/api/dashboard', { password: PASSWORD })).body) as DashboardData;
    return data.queue.byState.held === 1 && data.sessions.rows.length === 4;
  }, 200);

  const browser = await openBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.authenticate({ username: 'admin', password: PASSWORD });
  const response = await page.goto(`http://127.0.0.1:${admin}/`, { waitUntil: 'load' });
  t.equal(response?.status(), 200);
  t.equal(await page.title(), 'tlsrelay relay.test');
  const screenshot = join(dir, 'dashboard.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  t.comment(`screenshot: ${screenshot}`);

  t.test('the queue: counts by state, the oldest message, the deferred ones with their last reply', async (t) => {
    t.same([await countOf(page, 'due'), await countOf(page, 'deferred'), await countOf(page, 'held'), await countOf(page, 'total')], ['0', '2', '1', '3']);
    t.match(await countOf(page, 'oldest'), /^\d+(s|m)$/);
    const rows = await tableRows(page, 'deferred');
    t.same(rows.map((row) => [row[0], row[3]]), [
      [deferred[0], 'user@wrongname.test'],
      [deferred[1], 'user@script.test'],
    ]);
    t.match(rows[0]![6], /^450 4\.7\.5 Server certificate not verified for host 127\.0\.0\.1/);
    t.equal(rows[1]![6], SCRIPT_REPLY, 'the reply with markup in it is shown as its text');
  });

  t.test('nothing from mail runs: the <script> of a reply is text, not an element', async (t) => {
    t.equal(await page.$$eval('script', (scripts) => scripts.length), 0);
    t.equal(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned), undefined);
  });

  t.test('the partner rows: sessions and the shares verified / encrypted / plaintext, in the table and the chart', async (t) => {
    const rows = (await tableRows(page, 'partners')).map(([domain, connector, sessions, verifiedShare, encrypted, plain, messages, failed]) => [domain, connector, sessions, verifiedShare, encrypted, plain, messages, failed]);
    t.same(
      rows.sort((a, b) => a[0]!.localeCompare(b[0]!)),
      [
        ['fabrikam.test', 'fabrikam', '1', '100 %', '0 %', '0 %', '1', '0'],
        ['plain.test', 'plain', '1', '0 %', '0 %', '100 %', '1', '0'],
        ['script.test', 'script', '1', '0 %', '0 %', '100 %', '0', '0'],
        ['wrongname.test', 'wrongname', '1', '0 %', '100 %', '0 %', '0', '1'],
      ],
    );
    const bars = await page.$$eval('svg.chart g', (groups) =>
      groups.map((group) => ({ label: group.querySelector('text')?.textContent ?? '', segments: [...group.querySelectorAll('rect')].map((rect) => [rect.getAttribute('class'), Number(rect.getAttribute('width'))]) })),
    );
    const bar = (domain: string): unknown => bars.find((entry) => entry.label.startsWith(`${domain} ·`))?.segments;
    t.same(bar('fabrikam.test'), [['verified', 420]], 'the verified partner: one green bar, full width');
    t.same(bar('wrongname.test'), [['encrypted', 420]]);
    t.same(bar('plain.test'), [['plaintext', 420]]);
  });

  t.test('the TLS failure with its reason', async (t) => {
    const rows = await tableRows(page, 'failure-list');
    t.equal(rows.length, 1);
    t.same([rows[0]![1], rows[0]![2], rows[0]![4], rows[0]![5]], ['wrongname.test', 'wrongname', 'certificate-host-mismatch', 'deferred']);
    t.match(rows[0]![6], /Server certificate not verified/);
  });

  t.test('certificates with their days to expiry', async (t) => {
    const rows = await tableRows(page, 'certificate-list');
    t.same(
      rows.map((row) => [row[0], row[1], row[2], row[3], row[5]]),
      [
        ['served certificate', 'CN=relay.test', 'tls.cert', 'relay.crt', '40'],
        ['trust anchor', 'CN=dashboard test CA', 'tls.trust', 'ca.crt', '200'],
      ],
    );
  });

  t.test('the connectors with what each enforces', async (t) => {
    const outbound = await tableRows(page, 'outbound');
    t.same(outbound.map((row) => [row[0], row[3]]), [
      ['fabrikam', 'verify'],
      ['wrongname', 'verify'],
      ['plain', 'opportunistic'],
      ['script', 'opportunistic'],
      ['down', 'opportunistic'],
      ['default (implicit)', 'opportunistic'],
    ]);
    t.match(outbound[0]![4], /name one of mx\.sink\.test/);
    t.same(await tableRows(page, 'inbound'), [['local', 'ips 127.0.0.1/32', 'nothing', 'to any domain']]);
  });

});
