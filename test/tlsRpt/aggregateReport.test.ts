// The RFC 8460 report counted from transit records: one entry per policy, successes and
// failures, failure details grouped, the relay's own reports and plaintext sessions left
// out, and the report valid against the RFC's schema; then as a file and as a mail.
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { parse } from 'yaml';
import { TLS_RPT_KEYS } from '../../src/config/keys.js';
import { buildAggregateReport, reportIdentity, type Reporter } from '../../src/tlsRpt/aggregateReport.js';
import { reportFile } from '../../src/tlsRpt/reportFile.js';
import { reportMessage } from '../../src/tlsRpt/reportMessage.js';
import { fencedBlocks, readmeSection } from '../helpers/docText.js';
import { readReportMail, schemaErrors } from '../helpers/tlsReports.js';
import { sessionRecord } from '../helpers/transitRecords.js';

const period = { start: Date.parse('2026-12-02T00:00:00Z'), end: Date.parse('2026-12-03T00:00:00Z') };
const reporter: Reporter = { organization: 'Contoso Ltd', contact: 'tls-reports@contoso.test', submitter: 'relay.contoso.test' };
const DOMAIN = 'partner.test';
const at = '2026-12-02T10:00:00.000Z';
const sts = { source: 'mta-sts' as const, mode: 'enforce' as const, id: '20261201', mx: ['*.partner.test'], policyText: ['version: STSv1', 'mode: enforce', 'mx: *.partner.test', 'max_age: 86400'] };

const records = [
  // two verified sessions under the operator's connector, one plaintext one that nothing asked TLS of
  sessionRecord({ domain: DOMAIN, at }),
  sessionRecord({ domain: DOMAIN, at, reused: true }),
  sessionRecord({ domain: DOMAIN, at, policy: { source: 'none' }, tls: null, verdict: 'none' }),
  // MTA-STS: one success, three failures from two places
  sessionRecord({ domain: DOMAIN, at, policy: sts, host: 'mx1.partner.test', ip: '192.0.2.1', sourceIp: '198.51.100.7' }),
  ...[1, 2].map(() => sessionRecord({ domain: DOMAIN, at, policy: sts, host: 'mx1.partner.test', ip: '192.0.2.1', sourceIp: '198.51.100.7', tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, verdict: 'untrusted', failure: 'sts-webpki-invalid', outcome: 'deferred', delivered: 0 })),
  sessionRecord({ domain: DOMAIN, at, policy: sts, host: 'mx2.partner.test', ip: '192.0.2.2', sourceIp: '198.51.100.7', tls: null, verdict: 'none', failure: 'starttls-not-supported', outcome: 'deferred', delivered: 0 }),
  // DANE at one MX; a failure recorded before the sending address was kept
  sessionRecord({ domain: DOMAIN, at, policy: { source: 'dane', tlsa: ['3 1 1 ABCD'] }, host: 'mx3.partner.test', ip: '2001:db8::3', verdict: 'untrusted', failure: 'tlsa-invalid', outcome: 'deferred', delivered: 0 }),
  // a smart host dialled by its address, and a session that carried only one of our reports
  sessionRecord({ domain: DOMAIN, at, policy: { source: 'connector', level: 'encrypt' }, host: '192.0.2.9', ip: '192.0.2.9', sourceIp: '192.0.2.100', tls: null, verdict: 'none', failure: 'starttls-not-supported', outcome: 'deferred', delivered: 0 }),
  sessionRecord({ domain: DOMAIN, at, tlsReports: 1, failure: 'certificate-expired' }),
];

t.test('one policy entry per policy, the summary and failure details counted from the sessions', async (t) => {
  const report = buildAggregateReport(DOMAIN, period, records, reporter)!;
  t.same(schemaErrors(report), [], 'valid against RFC 8460 §4.4');
  t.match(report, {
    'organization-name': 'Contoso Ltd',
    'date-range': { 'start-datetime': '2026-12-02T00:00:00Z', 'end-datetime': '2026-12-02T23:59:59Z' },
    'contact-info': 'tls-reports@contoso.test',
    'report-id': reportIdentity(DOMAIN, period, reporter.submitter).reportId,
  });
  t.match(report['report-id'], /^1796169600\.[0-9a-f]{20}@relay\.contoso\.test$/);
  t.same(report.policies, [
    {
      policy: { 'policy-type': 'no-policy-found', 'policy-domain': DOMAIN },
      summary: { 'total-successful-session-count': 2, 'total-failure-session-count': 1 },
      'failure-details': [{ 'result-type': 'starttls-not-supported', 'sending-mta-ip': '192.0.2.100', 'receiving-ip': '192.0.2.9', 'failed-session-count': 1 }],
    },
    {
      policy: { 'policy-type': 'sts', 'policy-string': sts.policyText, 'policy-domain': DOMAIN, 'mx-host': ['*.partner.test'] },
      summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 3 },
      'failure-details': [
        { 'result-type': 'sts-webpki-invalid', 'sending-mta-ip': '198.51.100.7', 'receiving-mx-hostname': 'mx1.partner.test', 'receiving-ip': '192.0.2.1', 'failed-session-count': 2 },
        { 'result-type': 'starttls-not-supported', 'sending-mta-ip': '198.51.100.7', 'receiving-mx-hostname': 'mx2.partner.test', 'receiving-ip': '192.0.2.2', 'failed-session-count': 1 },
      ],
    },
    {
      policy: { 'policy-type': 'tlsa', 'policy-string': ['3 1 1 ABCD'], 'policy-domain': DOMAIN, 'mx-host': ['mx3.partner.test'] },
      summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 1 },
      'failure-details': [{ 'result-type': 'tlsa-invalid', 'receiving-mx-hostname': 'mx3.partner.test', 'receiving-ip': '2001:db8::3', 'failed-session-count': 1 }],
    },
  ], 'the plaintext session nothing asked TLS of and the session of our own report are in no count');
});

t.test('nothing to report: no report', async (t) => {
  t.equal(buildAggregateReport(DOMAIN, period, [], reporter), undefined);
  t.equal(buildAggregateReport(DOMAIN, period, [sessionRecord({ domain: DOMAIN, tls: null, policy: { source: 'none' }, verdict: 'none' }), sessionRecord({ domain: DOMAIN, tlsReports: 1 })], reporter), undefined, 'only plaintext without a policy and our own reports');
  t.ok(buildAggregateReport(DOMAIN, period, [sessionRecord({ domain: DOMAIN, messages: 2, tlsReports: 1 })], reporter), 'a session that carried a report and other mail counts');
  t.same(
    buildAggregateReport(DOMAIN, period, [sessionRecord({ domain: DOMAIN, policy: { source: 'mta-sts', mode: 'testing', id: 'x', mx: ['*.partner.test'], policyText: ['version: STSv1', 'mode: testing'] } })], reporter)?.policies[0]?.policy,
    { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: testing'], 'policy-domain': DOMAIN, 'mx-host': ['*.partner.test'] },
    'an sts policy reports its lines and patterns as recorded',
  );
});

t.test('hosts never dialled are failed sessions without a receiving IP; TLS-Required: No sessions are left out', async (t) => {
  const undialled = { domain: DOMAIN, at, ip: null, tls: null, verdict: 'none', outcome: 'deferred', delivered: 0 } as const;
  const report = buildAggregateReport(DOMAIN, period, [
    // two retry runs whose TLSA lookups failed, with 3 and 1 messages: one failed session each
    sessionRecord({ ...undialled, host: 'mx1.partner.test', policy: { source: 'dane', tlsa: [] }, failure: 'dnssec-invalid', messages: 3 }),
    sessionRecord({ ...undialled, host: 'mx1.partner.test', policy: { source: 'dane', tlsa: [] }, failure: 'dnssec-invalid', messages: 1 }),
    sessionRecord({ ...undialled, host: 'mx2.partner.test', policy: { source: 'connector', level: 'dane-only' }, failure: 'dane-required' }),
    sessionRecord({ ...undialled, host: 'backup.elsewhere.test', policy: sts, failure: 'validation-failure' }),
    // the sender waived the policies: neither a success nor a failure of them
    sessionRecord({ domain: DOMAIN, at, policy: { source: 'none' }, verdict: 'untrusted', tlsRequiredNo: true }),
    sessionRecord({ domain: DOMAIN, at, policy: { source: 'connector', level: 'encrypt' }, tls: null, verdict: 'none', failure: 'starttls-not-supported', outcome: 'deferred', delivered: 0, tlsRequiredNo: true }),
  ], reporter)!;
  t.same(schemaErrors(report), [], 'valid against RFC 8460 §4.4: receiving-ip is optional');
  t.same(report.policies, [
    {
      policy: { 'policy-type': 'tlsa', 'policy-string': [], 'policy-domain': DOMAIN, 'mx-host': ['mx1.partner.test'] },
      summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 2 },
      'failure-details': [{ 'result-type': 'dnssec-invalid', 'receiving-mx-hostname': 'mx1.partner.test', 'failed-session-count': 2 }],
    },
    {
      policy: { 'policy-type': 'no-policy-found', 'policy-domain': DOMAIN },
      summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 1 },
      'failure-details': [{ 'result-type': 'dane-required', 'receiving-mx-hostname': 'mx2.partner.test', 'failed-session-count': 1 }],
    },
    {
      policy: { 'policy-type': 'sts', 'policy-string': sts.policyText, 'policy-domain': DOMAIN, 'mx-host': ['*.partner.test'] },
      summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 1 },
      'failure-details': [{ 'result-type': 'validation-failure', 'receiving-mx-hostname': 'backup.elsewhere.test', 'failed-session-count': 1 }],
    },
  ]);
  t.equal(buildAggregateReport(DOMAIN, period, [sessionRecord({ domain: DOMAIN, at, tlsRequiredNo: true })], reporter), undefined, 'only waived sessions: nothing to report');
});

t.test('the file: RFC 8460 §5.3 name, gzipped JSON; the mail around it', async (t) => {
  const report = buildAggregateReport(DOMAIN, period, records, reporter)!;
  const file = reportFile(report, DOMAIN, period, reporter.submitter);
  const { unique, reportId } = reportIdentity(DOMAIN, period, reporter.submitter);
  t.equal(file.name, `relay.contoso.test!partner.test!1796169600!1796256000!${unique}.json.gz`);
  t.match(unique, /^[0-9a-f]+$/, 'the unique-id is letters and digits');
  t.same(JSON.parse(gunzipSync(file.gzipped).toString('utf8')), report);

  const { message, data } = reportMessage({ domain: DOMAIN, submitter: reporter.submitter, reportId, contact: reporter.contact, to: 'tlsrpt@reports.partner.test', file, now: new Date('2026-12-03T00:10:00Z') });
  t.same(message, { from: 'tls-reports@contoso.test', recipients: [{ address: 'tlsrpt@reports.partner.test', domain: 'reports.partner.test' }], tlsReport: true }, 'flagged: its sessions are never counted');
  const text = data.toString('ascii');
  t.notMatch(text, /(?<!\r)\n/, 'CRLF line endings only');
  const mail = readReportMail(text);
  t.match(mail.headers, {
    from: '<tls-reports@contoso.test>',
    to: '<tlsrpt@reports.partner.test>',
    subject: `Report Domain: partner.test Submitter: relay.contoso.test Report-ID: <${reportId}>`,
    date: 'Thu, 03 Dec 2026 00:10:00 +0000',
    'tls-report-domain': 'partner.test',
    'tls-report-submitter': 'relay.contoso.test',
    'tls-required': 'No',
    'content-type': /^multipart\/report; report-type=tlsrpt; boundary="/,
  });
  t.equal(mail.attachmentHeaders['content-type'], 'application/tlsrpt+gzip');
  t.equal(mail.fileName, file.name);
  t.same(mail.report, report);
});

t.test("README's example report is a valid RFC 8460 report, its YAML the keys the loader reads", async (t) => {
  const section = readmeSection('## TLS reports (TLS-RPT)');
  const [logLine, example] = fencedBlocks(section, 'json');
  t.same(schemaErrors(JSON.parse(example!)), []);
  t.match(JSON.parse(logLine!), { msg: 'TLS report not sent; it is tried again', reason: 'no answer within 30 s' }, 'the log line says what the relay logs with the default period');
  t.same(Object.keys(parse(fencedBlocks(section, 'yaml')[0]!).tlsRpt), Object.keys(TLS_RPT_KEYS));
});
