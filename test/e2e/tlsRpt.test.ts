// TLS-RPT end to end: the relay process delivers to real next hops (smtp-server sinks, one
// with a verified certificate, one without STARTTLS under an `encrypt` connector), a DNS
// server in the test publishes `_smtp._tls` records, and with 10 s periods the reports come:
// by mail through the relay's own queue to a sink, and as POSTs to a loopback HTTPS
// endpoint. Each is un-gzipped, checked against RFC 8460's schema and against the
// sessions the relay recorded. A next hop that DANE defers before dialling (its TLSA
// lookup answers SERVFAIL) is reported as a dnssec-invalid failure without a receiving IP.
// Bad input — a malformed record, a rua of five URIs, an endpoint that hangs — is skipped
// with a log line while mail keeps flowing. A restart in the middle sends no report twice.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { scanTransit } from '../../src/transit/reader.js';
import type { TransitRecord } from '../../src/transit/record.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { startSink, type Received } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { startReportEndpoint } from '../helpers/reportEndpoint.js';
import { startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { readReportMail, schemaErrors } from '../helpers/tlsReports.js';
import { until } from '../helpers/until.js';

const HOST = '127.0.0.1';

const ca = await makeCa('tlsrpt test CA');
const endpoint = await startReportEndpoint(await makeCert({ names: ['rpt.reports.test', 'hang.reports.test'], ca }));
const good = await startSink({ tls: 'starttls', cert: await makeCert({ names: ['mx.good.test'], ca }) });
const failing = await startSink({ tls: 'none' });
const reportSink = await startSink({ tls: 'none' });
const rpt = (path: string): string => `https://rpt.reports.test:${endpoint.port}/${path}`;
const dns = await startDnsServer({
  'mx.good.test': { A: [HOST] },
  'mx.failing.test': { A: [HOST] },
  'rpt.reports.test': { A: [HOST] },
  'hang.reports.test': { A: [HOST] },
  // a dane-only next hop whose validating resolver fails its TLSA lookup: never dialled
  'mx.dane.test': { A: [HOST], ad: true },
  [`_${good.port}._tcp.mx.dane.test`]: { TLSA: 'SERVFAIL' },
  '_smtp._tls.dane.test': { TXT: [`v=TLSRPTv1; rua=${rpt('dane')}`] },
  '_smtp._tls.good.test': { TXT: [`v=TLSRPTv1; rua=mailto:good@reports.test,${rpt('good')}`] },
  '_smtp._tls.failing.test': { TXT: ['v=spf1 -all', `v=TLSRPTv1;rua=${rpt('failing')}`] },
  '_smtp._tls.five.test': { TXT: [`v=TLSRPTv1; rua=mailto:five-1@reports.test,${rpt('five-2')},mailto:five-3@reports.test,mailto:five-4@reports.test,${rpt('five-5')}`] },
  '_smtp._tls.malformed.test': { TXT: ['v=TLSRPTv1; rua'] },
  '_smtp._tls.hang.test': { TXT: [`v=TLSRPTv1; rua=https://hang.reports.test:${endpoint.port}/hang`] },
  // the reports' own domain asks for reports too: it must never get one, its sessions carried only reports
  '_smtp._tls.reports.test': { TXT: ['v=TLSRPTv1; rua=mailto:own@reports.test'] },
});
t.teardown(async () => {
  for (const peer of [endpoint, good, failing, reportSink, dns]) await peer.close();
});

const queuedId = (response: string): string => /queued as ([0-9a-f]+)/.exec(response)![1]!;

async function deliver(relay: RelayProcess, domain: string, outcome = 'delivered'): Promise<void> {
  const port = await relay.port();
  const submitted = await submit({ port, from: 'sender@client.test', to: [`user@${domain}`], data: sampleMessage(`to ${domain}`) });
  if (!submitted.ok) throw new Error(`the relay refused the message for ${domain}: ${submitted.response}`);
  const id = queuedId(submitted.response);
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === outcome, `a ${outcome} attempt to ${domain}`);
}

interface Summary {
  'total-successful-session-count': number;
  'total-failure-session-count': number;
}
interface Policy {
  policy: Record<string, unknown>;
  summary: Summary;
  'failure-details'?: Array<Record<string, unknown>>;
}
type Report = Record<string, unknown> & { policies: Policy[]; 'report-id': string };

const reportMails = (to: string): Array<{ mail: Received; report: Report }> =>
  reportSink.received.filter((mail) => mail.to.includes(to)).map((mail) => ({ mail, report: readReportMail(mail.data).report as Report }));
const posted = (path: string): Report[] => endpoint.posts.filter((post) => post.path === `/${path}`).map((post) => post.report as Report);
const total = (reports: Report[], key: keyof Summary): number => reports.flatMap((report) => report.policies).reduce((sum, policy) => sum + policy.summary[key], 0);

async function transitRecords(spool: string, domain: string): Promise<TransitRecord[]> {
  const records: TransitRecord[] = [];
  await scanTransit(spool, { since: 0, domain }, (record) => records.push(record));
  return records;
}

const finishedRun = (line: LogLine): boolean => line.msg === 'TLS reports: run finished';

t.test('reports by mail and HTTPS, bad records skipped, once per period across restarts', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  const spool = join(dir, 'spool');
  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true, trust: [ca.crt] }
dns: { servers: ["${HOST}:${dns.port}"], dnssec: true }
queue: { dir: spool, retry: [1h] }
tlsRpt: { enabled: true, organization: Relay Test Org, contact: tls-reports@relay.test, interval: 10s }
log: { level: debug }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: good, domains: [good.test, five.test, malformed.test, hang.test, none.test], smartHosts: ["mx.good.test:${good.port}"], tls: verify }
  - { name: failing, domains: [failing.test], smartHosts: ["mx.failing.test:${failing.port}"], tls: encrypt }
  - { name: reports, domains: [reports.test], smartHosts: ["${HOST}:${reportSink.port}"], tls: none }
  - { name: dane, domains: [dane.test], smartHosts: ["mx.dane.test:${good.port}"], tls: dane-only }
`,
  );
  let relay = startRelay(config);
  t.teardown(() => relay.stop());

  // one message at a time, each its own delivery and so its own session record
  await deliver(relay, 'good.test');
  await deliver(relay, 'good.test');
  await deliver(relay, 'failing.test', 'deferred');
  await deliver(relay, 'dane.test', 'deferred');
  for (const domain of ['five.test', 'malformed.test', 'hang.test', 'none.test']) await deliver(relay, domain);

  await until(() => total(reportMails('good@reports.test').map((r) => r.report), 'total-successful-session-count') === 2 && total(posted('good'), 'total-successful-session-count') === 2);
  await until(() => total(posted('failing'), 'total-failure-session-count') === 1);
  await until(() => total(posted('dane'), 'total-failure-session-count') === 1);
  await until(() => reportMails('five-1@reports.test').length > 0 && posted('five-2').length > 0);

  t.test('what arrived is RFC 8460 and says what the relay recorded', async (t) => {
    const mails = reportMails('good@reports.test');
    for (const { mail, report } of mails) {
      t.same(schemaErrors(report), [], 'a valid report by mail');
      const parts = readReportMail(mail.data);
      t.match(parts.headers, { 'tls-report-domain': 'good.test', 'tls-report-submitter': 'relay.test', 'tls-required': 'No', subject: `Report Domain: good.test Submitter: relay.test Report-ID: <${report['report-id']}>` });
      t.match(parts.fileName, /^relay\.test!good\.test!\d+!\d+![0-9a-f]+\.json\.gz$/);
      t.equal(mail.from, 'tls-reports@relay.test', 'sent as tlsRpt.contact');
      t.match(report, { 'organization-name': 'Relay Test Org', 'contact-info': 'tls-reports@relay.test' });
      t.same(report.policies.map((policy) => policy.policy), [{ 'policy-type': 'no-policy-found', 'policy-domain': 'good.test' }], 'a connector is no published policy');
    }
    for (const post of endpoint.posts) {
      t.same(schemaErrors(post.report), [], `a valid report POSTed to ${post.path}`);
      t.equal(post.contentType, 'application/tlsrpt+gzip');
      t.equal(post.host, `rpt.reports.test:${endpoint.port}`);
    }
    const goodRecords = await transitRecords(spool, 'good.test');
    t.equal(goodRecords.filter((record) => record.tls !== null && record.failure === null).length, 2, 'two TLS sessions recorded, two reported');
    const [failure] = posted('failing').flatMap((report) => report.policies.flatMap((policy) => policy['failure-details'] ?? []));
    const [failed] = await transitRecords(spool, 'failing.test');
    t.same(failure, { 'result-type': 'starttls-not-supported', 'sending-mta-ip': failed!.sourceIp, 'receiving-mx-hostname': 'mx.failing.test', 'receiving-ip': HOST, 'failed-session-count': 1 }, 'the failed session as recorded');
    t.equal(failed!.sourceIp, HOST, 'the relay dialled from loopback');
    const daneReports = posted('dane');
    t.same(daneReports.flatMap((report) => report.policies), [{
      policy: { 'policy-type': 'tlsa', 'policy-string': [], 'policy-domain': 'dane.test', 'mx-host': ['mx.dane.test'] },
      summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 1 },
      'failure-details': [{ 'result-type': 'dnssec-invalid', 'receiving-mx-hostname': 'mx.dane.test', 'failed-session-count': 1 }],
    }], 'the host DANE deferred before dialling: a failed session, no IPs');
    t.match(await transitRecords(spool, 'dane.test'), [{ host: 'mx.dane.test', ip: null, port: good.port, failure: 'dnssec-invalid', outcome: 'deferred' }]);
  });

  t.test('bad input: skipped, said once, and mail keeps flowing', async (t) => {
    const skipped = await relay.waitForLog((line) => line.msg === 'TLS report: rua URIs skipped' && line.domain === 'five.test', 'the skipped URIs of five.test');
    t.same((skipped.skipped as Array<{ uri: string }>).map((skip) => skip.uri), ['mailto:five-3@reports.test', 'mailto:five-4@reports.test', rpt('five-5')]);
    t.equal(reportMails('five-3@reports.test').length + reportMails('five-4@reports.test').length + posted('five-5').length, 0, 'nothing went to them');
    const malformed = await relay.waitForLog((line) => line.msg === 'TLS report not sent: the reporting policy is unusable' && line.domain === 'malformed.test', 'the malformed record');
    t.match(malformed.reason, /malformed: the field "rua" is not name=value/);
    const hung = await relay.waitForLog((line) => line.msg === 'TLS report not sent; it is tried again' && line.domain === 'hang.test', 'the hanging endpoint');
    t.match(hung.reason, 'no answer within 5 s');
    t.ok(endpoint.hung.length > 0, 'the endpoint got the POST and never answered');
    t.notOk(relay.logs.some((line) => typeof line.msg === 'string' && line.msg.startsWith('TLS report') && line.domain === 'none.test' && line.level !== 20), 'a domain without a record: nothing above debug');
    // while the endpoint hangs, delivery goes on
    await deliver(relay, 'good.test');
  });

  t.test('a restart in the middle of a period sends no report twice', async (t) => {
    await relay.stop();
    relay = startRelay(config);
    await relay.waitForLog(finishedRun, 'the first run after the restart');
    await deliver(relay, 'good.test');
    // stopped right after: most likely inside the period of that session
    await relay.stop();
    relay = startRelay(config);
    await relay.waitForLog(finishedRun, 'the first run after the second restart');
    await until(() => total(reportMails('good@reports.test').map((r) => r.report), 'total-successful-session-count') === 4 && total(posted('good'), 'total-successful-session-count') === 4);
    // one more run after a period end: a report due twice would have gone by then
    await relay.waitForNextLog(finishedRun, 'a run after the reports');
    const mailIds = reportMails('good@reports.test').map(({ report }) => report['report-id']);
    const postIds = posted('good').map((report) => report['report-id']);
    t.equal(new Set(mailIds).size, mailIds.length, 'each report by mail once');
    t.equal(new Set(postIds).size, postIds.length, 'each report by HTTPS once');
    t.same([...postIds].sort(), [...mailIds].sort(), 'the same reports to both destinations');
    t.equal(total(posted('good'), 'total-successful-session-count'), (await transitRecords(spool, 'good.test')).filter((record) => record.tls !== null).length, 'every session counted once');
    t.equal(reportMails('own@reports.test').length, 0, 'the reports themselves are never reported on');
  });
});
