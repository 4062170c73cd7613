// `tlsrelay policy what-if` in-process: its arguments, the errors that exit 2, the lines of
// the transit record it skips, and the human text's variants. Real sessions replayed by
// the built binary are in test/e2e/whatIf.test.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { periodWords, whatIfText, type WhatIfContext } from '../../src/cli/whatIfText.js';
import type { OutboundConnector } from '../../src/config/types.js';
import type { ObservedSession, ObservedTls } from '../../src/policy/observedTls.js';
import { WhatIfTally } from '../../src/transit/whatIf.js';
import { compareConfigs } from '../../src/transit/whatIfCompare.js';
import type { TransitRecord } from '../../src/transit/record.js';
import { testConfig, testConnector } from '../helpers/testConfig.js';
import { readmeBlock } from '../helpers/docText.js';
import { sessionRecord, writeDayFile } from '../helpers/transitRecords.js';
import { policyUsageError, runPolicy } from '../helpers/policyInProcess.js';

t.test('malformed calls are usage errors, before any config is read', async (t) => {
  const cases: Array<[string[], string]> = [
    [['what-if'], 'what-if needs -c NEW.yaml: the config to replay the recorded sessions under'],
    [['what-if', 'extra', '-c', 'new.yaml'], 'unexpected argument "extra"'],
    [['what-if', '-c', 'new.yaml', '--since', 'a week'], '--since "a week" is not a duration such as 30m, 24h or 7d'],
    [['what-if', '-c', 'new.yaml', '--domain', 'bad..name'], '--domain "bad..name" is not a domain name'],
    [['what-if', '-c', 'new.yaml', '--inbound', '192.0.2.1'], "Unknown option '--inbound'"],
    [['explain', 'a.test', '--since', '7d'], "Unknown option '--since'"],
  ];
  for (const [args, message] of cases) t.match(await policyUsageError(args), message, args.join(' '));
});

/** A config on a spool of its own in `dir`; `outbound` the connectors. */
function configFile(dir: string, name: string, outbound = ''): string {
  const file = join(dir, name);
  writeFileSync(file, `listeners: [{ name: smtp, port: 0, tls: none }]\nqueue: { dir: spool }\n${outbound}`);
  return file;
}

t.test('exit 2: a config that does not load, a current config not found, a record that cannot be read', async (t) => {
  const dir = t.testdir({ spool: { transit: 'a file where the folder should be' } });
  const current = configFile(dir, 'current.yaml');
  const next = configFile(dir, 'next.yaml', 'outbound: [{ name: p, domains: [p.test], tls: verify }]\n');
  const invalid = configFile(dir, 'invalid.yaml', 'outbound: [{ name: p, domains: [p.test], tls: sometimes }]\n');

  const bad = await runPolicy(['what-if', '-c', invalid, '--current', current]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, `${invalid}:3:`, 'the problem with its file:line:col');

  const missing = await runPolicy(['what-if', '-c', next, '--current', join(dir, 'nowhere.yaml')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, 'nowhere.yaml');

  const unreadable = await runPolicy(['what-if', '-c', next, '--current', current]);
  t.equal(unreadable.code, 2);
  t.match(unreadable.stderr, /^tlsrelay policy what-if: cannot read the transit record: ENOTDIR/);
  t.equal(unreadable.stdout, '');
});

t.test('lines it cannot read are counted on stderr; an empty record defers nothing', async (t) => {
  const dir = t.testdir();
  const current = configFile(dir, 'current.yaml');
  const next = configFile(dir, 'next.yaml', 'outbound: [{ name: p, domains: [p.test], tls: verify }]\n');
  writeDayFile(join(dir, 'spool'), 'test-1', [sessionRecord({ domain: 'other.test' })], '{"v":1,"at":"torn');
  const result = await runPolicy(['what-if', '-c', next, '--current', current]);
  t.equal(result.code, 0);
  t.equal(result.stderr, 'tlsrelay policy what-if: 1 line of the transit record skipped: torn by a crash, or of a format this version does not read\n');
  t.match(result.stdout, /\nNo recorded domain gets another connector from .*next\.yaml\.\n1 domain keeps its connector \(1 session\): not replayed\.\n$/);
});

t.test('--json: the report as one document; --domain keeps to one domain', async (t) => {
  const dir = t.testdir();
  const current = configFile(dir, 'current.yaml');
  const next = configFile(dir, 'next.yaml', 'outbound: [{ name: p, domains: [p.test, q.test], tls: encrypt }]\n');
  const plaintext: Partial<TransitRecord> = { connector: 'default', route: 'mx', policy: { source: 'none' }, observed: { kind: 'starttls-not-offered' }, tls: null, verdict: 'none', published: { mtaSts: { kind: 'none', reason: 'no policy' } } };
  writeDayFile(join(dir, 'spool'), 'test-1', [sessionRecord({ ...plaintext, domain: 'p.test' }), sessionRecord({ ...plaintext, domain: 'q.test' })], '{"v":1,"domain":"p.test"}\n{"v":1,"domain":"p.test"');
  const result = await runPolicy(['what-if', '-c', next, '--current', current, '--json', '--domain', 'P.test', '--since', '1h']);
  t.equal(result.code, 1, 'a message would be deferred');
  t.match(result.stderr, ': 2 lines of the transit record skipped');
  const document = JSON.parse(result.stdout) as Record<string, unknown>;
  t.match(document, { next, current, asRecorded: [], total: { sessions: 1, messages: 1, defers: { sessions: 1, messages: 1 } }, unchanged: { domains: 0 } });
  t.same((document.domains as Array<{ domain: string }>).map((domain) => domain.domain), ['p.test']);
  t.equal(Date.parse(document.until as string) - Date.parse(document.since as string), 3_600_000);
});

const CONTEXT: WhatIfContext = { next: 'new.yaml', current: 'tlsrelay.yaml', sinceMs: 86_400_000, asRecorded: ['tls.trust'] };
const SINCE = new Date('2026-12-01T09:00:00Z');
const UNTIL = new Date('2026-12-02T09:00:00Z');

const connector = (name: string, domain: string, fields: Partial<OutboundConnector>) => testConnector({ name, domains: [domain], mtaSts: false, ...fields });
const observed: ObservedSession = { kind: 'established', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', chainValid: true, certificate: { dnsNames: ['mx.a.test'], ipAddresses: [], commonNames: [], sha256: 'a'.repeat(64), spkiSha256: 'b'.repeat(64) } };
const record = (domain: string, connectorName: string, fields: Partial<TransitRecord> = {}) =>
  sessionRecord({ domain, connector: connectorName, host: 'mx.a.test', route: 'mx', policy: { source: 'connector', level: 'verify' }, observed, ...fields });

t.test('the text: what each change is called, and the lines under it', async (t) => {
  const current = testConfig({
    outbound: [connector('strict', 'strict.test', { tls: 'verify' }), connector('names', 'names.test', { tls: 'verify' }), connector('old', 'renamed.test', { tls: 'encrypt' })],
  });
  const next = testConfig({
    outbound: [
      connector('strict', 'strict.test', { tls: 'opportunistic', ciphers: 'ECDHE+AESGCM' }),
      connector('names', 'names.test', { tls: 'verify', tlsNames: ['mx.b.test'] }),
      connector('new', 'renamed.test', { tls: 'encrypt' }),
      connector('open', 'open.test', { tls: 'none' }),
      connector('forced', 'forced.test', { tls: 'encrypt' }),
    ],
  });
  const tally = new WhatIfTally(compareConfigs(current, next));
  const untrusted: ObservedSession = { ...observed, chainValid: false, chainError: 'self-signed certificate', chainFailure: 'certificate-not-trusted' };
  tally.add(record('strict.test', 'strict', { observed: untrusted, verdict: 'untrusted', failure: 'certificate-not-trusted', outcome: 'deferred', messages: 2, delivered: 0 }));
  tally.add(record('strict.test', 'strict', { observed: { kind: 'handshake-failed', reason: 'x' }, tls: null, verdict: 'none', failure: 'validation-failure', outcome: 'deferred', delivered: 0 }));
  tally.add(record('names.test', 'names', { messages: 3, delivered: 3 }));
  tally.add(record('renamed.test', 'old', { policy: { source: 'connector', level: 'encrypt' }, verdict: 'verified' }));
  // under the implicit default: a TLS session and a plaintext one to a host without STARTTLS, and a record of an older version
  const byDefault = { connector: 'default', policy: { source: 'none' } } as const;
  tally.add(record('open.test', 'default', { ...byDefault, verdict: 'verified' }));
  tally.add(record('open.test', 'default', { ...byDefault, observed: { kind: 'starttls-not-offered' }, tls: null, verdict: 'none' }));
  tally.add(sessionRecord({ domain: 'open.test', ...byDefault, messages: 4, delivered: 4 }));
  tally.add(record('forced.test', 'default', { ...byDefault, observed: { kind: 'starttls-not-offered' }, tls: null, verdict: 'none', messages: 2, delivered: 2 }));
  const lines = whatIfText(tally.report(SINCE, UNTIL), CONTEXT).split('\n');

  t.equal(lines[0], 'What-if new.yaml, replayed over the transit record of tlsrelay.yaml from 2026-12-01 09:00 UTC to 2026-12-02 09:00 UTC (--since 1d)');
  t.equal(lines[1], 'tls.trust differ: chains and TLSA findings are taken as recorded');
  t.ok(lines.includes('changing tlsNames for names.test would have deferred 3 of 3 messages in the last 1 day: mx.a.test presented a certificate for another name'), 'the same level, other names');
  t.ok(lines.includes('switching to `opportunistic` for strict.test would have deferred none of its 0 messages in the last 1 day'), 'from one level to another');
  t.ok(lines.includes('  connector: strict (verify) -> strict (opportunistic); changed: tls'));
  t.ok(lines.includes('  2 sessions: 1 would fall back to plaintext, 1 refused now, would go ahead'));
  t.ok(lines.includes('  refused now, would go ahead: 1 session that were to carry 2 messages'));
  t.ok(lines.includes('  not replayed, taken as recorded: ciphers'));
  t.ok(lines.includes('connector new for renamed.test would have deferred none of its 1 message in the last 1 day'), 'another connector with the same keys');
  t.ok(lines.includes('  1 session: 1 would deliver'));
  t.ok(lines.includes('switching to `none` for open.test would have deferred none of its 6 messages in the last 1 day'));
  t.ok(lines.includes('  connector: the implicit default (opportunistic) -> open (none); changed: tls, mtaSts'));
  t.ok(lines.includes('  would deliver differently: 1 session, 1 message: TLSv1.3 verified, policy none -> plaintext none, policy none'), 'the plaintext session delivers as before: no line');
  t.ok(lines.includes('  cannot tell: 1 session, 4 messages: recorded before the relay kept what a replay needs'));
  t.ok(lines.includes('forcing `encrypt` for forced.test would have deferred 2 of 2 messages in the last 1 day: mx.a.test does not offer STARTTLS'), 'TLS required where it was not');
  t.equal(lines.at(-2), 'In all: 5 domains replayed, 8 sessions, 12 messages; would defer 5 of their 12 messages; cannot tell for 1 session.');
});

t.test('the period in words', async (t) => {
  t.equal(periodWords(7 * 86_400_000), '7 days');
  t.equal(periodWords(86_400_000), '1 day');
  t.equal(periodWords(36 * 3_600_000), '36 hours');
  t.equal(periodWords(90 * 60_000), '90 minutes');
  t.equal(periodWords(45_000), '45 seconds');
});

/** README's week: fabrikam.test's mx2 serves a certificate of its hosting provider, litware.test's mx2 has no STARTTLS. */
function readmeWeek(): WhatIfTally {
  const current = testConfig();
  const next = testConfig({
    outbound: [
      testConnector({ name: 'partner-fabrikam', domains: ['fabrikam.test'], tls: 'verify' }),
      testConnector({ name: 'partner-litware', domains: ['litware.test'], tls: 'encrypt' }),
    ],
  });
  const tally = new WhatIfTally(compareConfigs(current, next));
  const at = '2026-12-04T10:00:00.000Z';
  const byDefault = { at, connector: 'default', route: 'mx', policy: { source: 'none' }, published: { mtaSts: { kind: 'none', reason: 'no _mta-sts TXT record' } } } as const;
  const session = (domain: string, host: string, ip: string, seen: ObservedTls, fields: Partial<TransitRecord>) => sessionRecord({ ...byDefault, domain, host, ip, observed: seen, ...fields });
  const naming = (names: string[], chain: Partial<ObservedSession> = {}): ObservedSession => ({ ...observed, ...chain, certificate: { ...observed.certificate!, dnsNames: names } });
  const selfSigned = { chainValid: false, chainError: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', chainFailure: 'certificate-not-trusted' } as const;
  for (let i = 0; i < 30; i += 1) tally.add(session('fabrikam.test', 'mx1.fabrikam.test', '198.51.100.25', naming(['mx1.fabrikam.test']), { messages: 10, delivered: 10 }));
  tally.add(session('fabrikam.test', 'mx1.fabrikam.test', '198.51.100.25', naming(['mx1.fabrikam.test']), { messages: 28, delivered: 28 }));
  for (let i = 0; i < 4; i += 1) tally.add(session('fabrikam.test', 'mx2.fabrikam.test', '198.51.100.26', naming(['*.mailhost.example']), { verdict: 'trusted', messages: 3, delivered: 3 }));
  for (let i = 0; i < 6; i += 1) tally.add(session('litware.test', 'mx1.litware.test', '203.0.113.10', naming(['mx1.litware.test'], selfSigned), { verdict: 'untrusted', messages: 2, delivered: 2 }));
  tally.add(session('litware.test', 'mx2.litware.test', '203.0.113.11', { kind: 'starttls-not-offered' }, { tls: null, verdict: 'none', messages: 5, delivered: 5 }));
  tally.add(sessionRecord({ ...byDefault, route: undefined, published: undefined, domain: 'litware.test', host: 'mx1.litware.test', verdict: 'untrusted', messages: 4, delivered: 4 }));
  tally.add(sessionRecord({ ...byDefault, domain: 'example.net', host: 'mx.example.net', messages: 9, delivered: 9 }));
  return tally;
}

t.test("README's example is what the command prints for such a week", async (t) => {
  const context: WhatIfContext = { next: 'stricter.yaml', current: '/etc/tlsrelay/tlsrelay.yaml', sinceMs: 7 * 86_400_000, asRecorded: [] };
  const printed = whatIfText(readmeWeek().report(new Date('2026-11-28T09:00:00Z'), new Date('2026-12-05T09:00:00Z')), context);
  t.equal(printed, readmeBlock('### What-if before enforcing', 'text'));
});
