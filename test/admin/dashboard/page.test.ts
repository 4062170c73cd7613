// The page made from the dashboard's data: every section, and everything that comes from
// mail or config escaped — a domain, a reply, a sender or a config value with markup in it
// stays text.
import t from 'tap';
import { dashboardData, type DashboardFacts } from '../../../src/admin/dashboard/dashboardData.js';
import { dashboardPage, REFRESH_SECONDS } from '../../../src/admin/dashboard/page.js';
import { SessionTally } from '../../../src/admin/dashboard/sessionShares.js';
import type { Envelope } from '../../../src/queue/types.js';
import { sessionRecord } from '../../helpers/transitRecords.js';
import { testConfig, testConnector } from '../../helpers/testConfig.js';

const NOW = new Date('2026-12-02T12:00:00.000Z');
const SCRIPT = '<script>alert(1)</script>';
const DAY = 86_400_000;

function facts(fields: Partial<DashboardFacts> = {}): DashboardFacts {
  return { config: testConfig(), envelopes: [], sessions: new SessionTally().view(), skippedRecords: 0, dated: [], since: new Date(NOW.getTime() - DAY), now: NOW, ...fields };
}

const deferred: Envelope = {
  id: '0190abc',
  receivedAt: new Date(NOW.getTime() - 3_900_000).toISOString(),
  from: `"${SCRIPT}"@client.test`,
  recipients: [{ address: `user@${SCRIPT}.test`, domain: `${SCRIPT}.test`, state: 'pending' }],
  size: 10,
  nextAttemptAt: new Date(NOW.getTime() + 60_000).toISOString(),
  attempts: [{ at: NOW.toISOString(), domain: 'x.test', connector: 'x', tlsLevel: 'verify', host: 'mx.x.test', tls: null, verdict: 'none', outcome: 'deferred', code: 451, response: `451 4.3.0 ${SCRIPT}` }],
};

t.test('markup from mail and config is shown as text, never run', async (t) => {
  const tally = new SessionTally();
  tally.add(sessionRecord({ domain: `${SCRIPT}.test`, connector: 'partner', failure: 'certificate-host-mismatch', outcome: 'deferred', delivered: 0, verdict: 'untrusted', reply: `4.7.5 Server certificate not verified for host ${SCRIPT}` }));
  const config = testConfig({
    server: { hostname: `relay${SCRIPT}` },
    acceptedDomains: [`${SCRIPT}.test`],
    outbound: [testConnector({ name: 'partner', domains: [`${SCRIPT}.test`], tls: 'verify', tlsNames: [`mx.${SCRIPT}`] })],
  });
  const page = dashboardPage(
    dashboardData(facts({ config, envelopes: [deferred], sessions: tally.view(), dated: [{ kind: 'certificate', setting: 'tls.cert', file: `/etc/${SCRIPT}.crt`, place: undefined, subject: `CN=${SCRIPT}`, end: new Date(NOW.getTime() + 40 * DAY) }] })),
    'the last 24h',
  );
  t.notMatch(page, /<script/i, 'no script element anywhere');
  const escaped = page.split('&lt;script&gt;alert(1)&lt;/script&gt;').length - 1;
  t.ok(escaped >= 10, `each value is there as text (${escaped} times): title, heading, sender, recipient, reply, partner row and chart, failure, certificate, connector, accepted domains`);
  t.match(page, `&lt;&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;@client.test&gt;`, 'the sender in angle brackets, its quotes escaped');
});

t.test('every section with its numbers', async (t) => {
  const tally = new SessionTally();
  tally.add(sessionRecord({ domain: 'fabrikam.test', connector: 'fabrikam' }));
  tally.add(sessionRecord({ domain: 'fabrikam.test', connector: 'fabrikam', tls: null, verdict: 'none' }));
  tally.add(sessionRecord({ domain: 'dane.test', connector: 'dane', ip: null, tls: null, verdict: 'none', failure: 'dane-required', outcome: 'deferred', delivered: 0, reply: '4.7.5 no usable TLSA record' }));
  const page = dashboardPage(
    dashboardData(
      facts({
        envelopes: [deferred, { ...deferred, id: 'held1', heldAt: NOW.toISOString() }, { ...deferred, id: 'untried', receivedAt: NOW.toISOString(), attempts: [] }],
        sessions: tally.view(),
        skippedRecords: 2,
        dated: [{ kind: 'crl', setting: 'outbound[0].crl', connector: 'partner', file: '/etc/partner.crl', place: undefined, subject: 'CN=Partner CA', end: new Date(NOW.getTime() - 3_600_000) }],
        config: testConfig({
          inbound: [
            { name: 'local', match: { ips: ['127.0.0.1/32'] }, require: { tls: false }, relay: true },
            { name: 'partner', match: { senderDomains: ['fabrikam.test'] }, require: { tls: true }, relay: false },
          ],
        }),
      }),
    ),
    'the last 24h',
  );
  t.match(page, `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`);
  t.match(page, /id="queue-deferred"><span class="value">2<\/span>/);
  t.match(page, /<td>untried<\/td>.*<td class="reply">–<\/td>/, 'a message not tried yet has no last reply');
  t.match(page, /id="queue-held"><span class="value">1<\/span>/);
  t.match(page, /id="queue-total"><span class="value">3<\/span>/);
  t.match(page, /id="queue-oldest"><span class="value">1h05m<\/span>/);
  t.match(page, 'Delivery sessions per partner, the last 24h');
  t.match(page, /<td>fabrikam\.test<\/td><td>fabrikam<\/td><td class="number">2<\/td><td class="number">50 %<\/td><td class="number">0 %<\/td><td class="number">50 %<\/td>/);
  t.match(page, /<svg class="chart"/);
  t.match(page, 'no session (1 not dialled)', 'a domain whose hosts were never dialled has an empty bar');
  t.match(page, '2 lines of the transit record were not records');
  t.match(page, /<td>mx\.partner\.test \(not dialled\)<\/td><td>dane-required<\/td>/);
  t.match(page, /<tr class="expired"><td>CRL<\/td><td>CN=Partner CA<\/td><td>outbound\[0\]\.crl \(partner\)<\/td>.*<td class="days">-1<\/td>/);
  t.match(page, /<td>default \(implicit\)<\/td><td>\*<\/td><td>MX<\/td><td>opportunistic<\/td>/);
  t.match(page, '<td title="/etc/partner.crl">partner.crl</td>', 'the file by its name, the whole path on hover');
  t.match(page, /<td>local<\/td><td>ips 127\.0\.0\.1\/32<\/td><td>nothing<\/td><td>to any domain<\/td>/);
  t.match(page, /<td>partner<\/td><td>senderDomains fabrikam\.test<\/td><td>STARTTLS<\/td><td>accepted domains only<\/td>/);
  t.match(page, 'Accepted domains: none');
});

t.test('empty sections say so', async (t) => {
  const page = dashboardPage(dashboardData(facts()), 'the last 24h');
  for (const sentence of ['No message is deferred.', 'No delivery session in this period.', 'No session fell short of its TLS policy in this period.', 'No certificate, trust anchor or CRL is configured.', 'No inbound connector']) {
    t.match(page, sentence);
  }
  t.match(page, /id="queue-oldest"><span class="value">–<\/span>/);
  t.notMatch(page, /<svg/, 'no chart without rows');
});

t.test('more than is shown is counted', async (t) => {
  const tally = new SessionTally();
  for (let index = 0; index < 40; index++) tally.add(sessionRecord({ domain: `d${index}.test`, failure: 'certificate-expired', outcome: 'deferred', delivered: 0 }));
  const envelopes = Array.from({ length: 52 }, (_, index) => ({ ...deferred, id: `m${index}` }));
  const page = dashboardPage(dashboardData(facts({ sessions: tally.view(), envelopes })), 'the last 7d');
  t.match(page, 'and 2 more deferred messages');
  t.match(page, 'and 10 more domains and connectors');
  t.match(page, 'the latest 25 of 40');
});
