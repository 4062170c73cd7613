// `tlsrelay report tls` as a command: its arguments, its --json document, and README's
// example table, which is this test's records rendered by the command's own text form.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { reportText } from '../../src/cli/reportText.js';
import type { TransitRecord } from '../../src/transit/record.js';
import { TransitTally } from '../../src/transit/summary.js';
import { fencedBlocks, readmeSection } from '../helpers/docText.js';
import { runCli } from '../helpers/relayProcess.js';
import { sessionRecord, writeDayFile } from '../helpers/transitRecords.js';

const v13 = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
const v12 = { protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES256-GCM-SHA384' };
const exchange = { connector: 'onprem-exchange', policy: { source: 'connector', level: 'verify' } } as const;
const fabrikam = { domain: 'fabrikam.test', connector: 'partner-fabrikam', policy: { source: 'connector', level: 'verify' } } as const;
const internet = { domain: 'example.net', connector: 'default', policy: { source: 'none' } } as const;
const expired = '450 4.7.5 Server certificate not verified for host mail.fabrikam.test[198.51.100.25]: certificate has expired (CERT_HAS_EXPIRED)';

/** A day as README tells it: Exchange, a partner whose certificate expired and was renewed, the internet. */
const EXAMPLE_DAY: TransitRecord[] = [
  sessionRecord({ ...exchange, domain: 'contoso.test', messages: 38, delivered: 38 }),
  sessionRecord({ ...exchange, domain: 'contoso.test', reused: true, messages: 4, delivered: 4 }),
  sessionRecord({ ...fabrikam, verdict: 'untrusted', failure: 'certificate-expired', outcome: 'deferred', reply: expired, messages: 6, delivered: 0 }),
  sessionRecord({ ...fabrikam, verdict: 'untrusted', failure: 'certificate-expired', outcome: 'deferred', reply: expired, messages: 6, delivered: 0 }),
  sessionRecord({ ...fabrikam, messages: 7, delivered: 7 }),
  sessionRecord({ ...internet, tls: v13, verdict: 'verified', messages: 9, delivered: 9 }),
  sessionRecord({ ...internet, tls: v12, verdict: 'untrusted', messages: 2, delivered: 2 }),
  sessionRecord({ ...internet, tls: null, verdict: 'none', messages: 1, delivered: 1 }),
  sessionRecord({ domain: 'northwind.test', connector: 'pinned', policy: { source: 'connector', level: 'fingerprint' }, tls: v12, verdict: 'pinned', messages: 3, delivered: 3 }),
];

const dane = { domain: 'woodgrove.test', connector: 'published', host: 'mx1.woodgrove.test' } as const;
const lookupFailed = '450 4.7.5 TLSA lookup error: 127.0.0.1:53 answered SERVFAIL for host mx1.woodgrove.test';
const notDialled: Partial<TransitRecord> = { ...dane, ip: null, policy: { source: 'dane', tlsa: [] }, tls: null, verdict: 'none', failure: 'dnssec-invalid', outcome: 'deferred', reply: lookupFailed, delivered: 0 };

/** README's second day: a DANE domain whose resolver failed for two retry runs, and a message with TLS-Required: No. */
const DANE_DAY: TransitRecord[] = [
  sessionRecord({ ...notDialled, messages: 5 }),
  sessionRecord({ ...notDialled, messages: 5 }),
  sessionRecord({ ...dane, policy: { source: 'dane', tlsa: ['3 1 1 8f4e3b9d0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4'] }, verdict: 'dane', messages: 5, delivered: 5 }),
  sessionRecord({ ...dane, policy: { source: 'none' }, verdict: 'untrusted', tlsRequiredNo: true, messages: 1, delivered: 1 }),
];

/** What the command prints for these records over README's period. */
function printed(records: TransitRecord[]): string {
  const tally = new TransitTally();
  for (const record of records) tally.add(record);
  return reportText(tally.report(new Date('2026-12-01T09:00:00Z'), new Date('2026-12-02T09:00:00Z')), '--since 24h');
}

t.test("README's examples are what the command prints for such days", async (t) => {
  const [plain, published] = fencedBlocks(readmeSection('## Transit record and `report tls`'), 'text');
  t.equal(printed(EXAMPLE_DAY), plain, 'no host left undialled, no TLS-Required: No: no columns for them');
  t.equal(printed(DANE_DAY), published, 'hosts not dialled and waived sessions get their columns, said below the table');
});

/** A config the report can load: the spool is what it reads. */
function configIn(dir: string): string {
  const file = join(dir, 'tlsrelay.yaml');
  writeFileSync(file, 'listeners: [{ name: smtp, port: 0, tls: none }]\nqueue: { dir: spool }\n');
  return file;
}

t.test('--json: one document on stdout', async (t) => {
  const dir = t.testdir();
  const record = sessionRecord({ domain: 'one.test' });
  writeDayFile(join(dir, 'spool'), 'test-1', [record], '{"v":1,"at":"torn');
  const run = await runCli(['report', 'tls', '--json', '-c', configIn(dir)]);
  t.equal(run.code, 0);
  t.equal(run.stderr, 'tlsrelay report tls: 1 line of the transit record skipped: torn by a crash, or of a format this version does not read\n');
  const report = JSON.parse(run.stdout) as { since: string; until: string };
  const summary = {
    sessions: 1,
    messages: 1,
    verified: { sessions: 1, messages: 1 },
    verifiedShare: { sessions: 1, messages: 1 },
    tlsVersions: { 'TLSv1.3': { sessions: 1, messages: 1 } },
    verdicts: { verified: { sessions: 1, messages: 1 } },
    policies: { connector: { sessions: 1, messages: 1 } },
    tlsRequiredNo: { sessions: 0, messages: 0 },
    notDialled: { hosts: 0, messages: 0 },
    failures: {},
  };
  t.strictSame(report, { since: report.since, until: report.until, domains: [{ domain: 'one.test', ...summary }], total: summary });
  t.equal(Date.parse(report.until) - Date.parse(report.since), 86_400_000, '--since defaults to 24h');
});

t.test('a transit folder that cannot be read: exit 1, saying why', async (t) => {
  const dir = t.testdir({ spool: { transit: 'a file where the folder should be' } });
  const run = await runCli(['report', 'tls', '-c', configIn(dir)]);
  t.equal(run.code, 1);
  t.match(run.stderr, /^tlsrelay report tls: cannot read the transit record: ENOTDIR/);
  t.equal(run.stdout, '');
});

t.test('arguments are checked before anything is read', async (t) => {
  const config = configIn(t.testdir());
  const cases: Array<[string[], string]> = [
    [['report'], 'missing report: tls'],
    [['report', 'tsl'], 'unknown report "tsl"'],
    [['report', 'tls', 'extra'], 'unexpected argument "extra"'],
    [['report', 'tls', '--since', '1 day'], '--since "1 day" is not a duration such as 30m, 24h or 7d'],
    [['report', 'tls', '--since', '0h'], '--since "0h" is not a duration such as 30m, 24h or 7d'],
    [['report', 'tls', '--domain', 'not a domain'], '--domain "not a domain" is not a domain name'],
    [['report', 'tls', '--verbose'], "Unknown option '--verbose'"],
  ];
  for (const [args, message] of cases) {
    const run = await runCli([...args, '-c', config]);
    t.equal(run.code, 64, args.join(' '));
    t.match(run.stderr, `tlsrelay report: ${message}`);
    t.equal(run.stdout, '');
  }
});
