// The fold of published policies, against ARCHITECTURE.md's "Published policies" table
// row by row (connector level × what the domain publishes), then the cases between the
// columns: TLSA records none of which is usable, a failed lookup, an insecure answer, an
// MX host outside an enforce policy, a policy that could not be fetched, TLS-Required: No.
import t from 'tap';
import type { TlsLevel } from '../../src/config/types.js';
import type { MtaStsState } from '../../src/policy/mtaSts.js';
import { consultedSources, noListedMxText, planHost, stsPolicy, waivedByHeader, type HostPlan, type PublishedFacts, type TlsaFinding } from '../../src/policy/publishedPolicy.js';

const HOST = 'mx1.example.test';
const TLSA = '3 1 1 8f4e3b9d0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4';
const PKIX = '1 1 1 8f4e3b9d0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4';
const fetchedAt = new Date('2026-12-01T00:00:00Z');

function sts(mode: 'enforce' | 'testing' | 'none', mx = ['*.example.test']): MtaStsState {
  const text = `version: STSv1\r\nmode: ${mode}\r\n${mx.map((pattern) => `mx: ${pattern}\r\n`).join('')}max_age: 86400\r\n`;
  return { kind: 'policy', policy: { mode, mx, maxAge: 86400 }, text, id: '20261201', fetchedAt, expiresAt: new Date(fetchedAt.getTime() + 86_400_000), origin: 'fetched' };
}

const OWNER = `_25._tcp.${HOST}`;
const usable: TlsaFinding = { kind: 'usable', owner: OWNER, usable: [TLSA], unusable: [] };
const nothing: TlsaFinding = { kind: 'none' };
const noSts: MtaStsState = { kind: 'none', reason: '_mta-sts.example.test does not exist (NXDOMAIN)' };

function plan(level: TlsLevel, tlsa: TlsaFinding, mtaSts: MtaStsState, extra: Partial<PublishedFacts> = {}): HostPlan {
  const connector = { tls: level, plaintextFallback: true, mtaSts: true, smartHosts: [] };
  const consulted = consultedSources(connector, extra.tlsRequiredNo ?? false);
  return planHost({ connector, host: HOST, tlsa: consulted.dane ? tlsa : undefined, mtaSts: consulted.mtaSts ? mtaSts : undefined, tlsRequiredNo: false, ...extra });
}

/** A plan in one line: `level L by SOURCE`, `dane by dane`, `skip`, `defer TEXT`; `+testing` when MTA-STS testing shadows it. */
function summary(hostPlan: HostPlan): string {
  switch (hostPlan.kind) {
    case 'skip':
      return 'skip';
    case 'defer':
      return `defer ${hostPlan.text}`;
    case 'connect': {
      const testing = hostPlan.rule.testing ? ` +testing ${hostPlan.rule.testing.tls}` : '';
      return `${hostPlan.dane ? 'dane' : `level ${hostPlan.rule.tls}`} by ${hostPlan.decidedBy}${testing}`;
    }
  }
}

type Column = 'tlsa' | 'enforce' | 'testing' | 'nothing';
const columns: Record<Column, [TlsaFinding, MtaStsState]> = {
  tlsa: [usable, noSts],
  enforce: [nothing, sts('enforce')],
  testing: [nothing, sts('testing')],
  nothing: [nothing, noSts],
};

const NO_TLSA = `defer 4.7.5 No TLSA records, and DANE is required (dane-only) for host ${HOST}`;

// ARCHITECTURE.md's table; `none` and `opportunistic` name no policy of their own (source none)
const table: Record<TlsLevel, Record<Column, string>> = {
  none: { tlsa: 'level none by none', enforce: 'level none by none', testing: 'level none by none', nothing: 'level none by none' },
  opportunistic: { tlsa: 'level opportunistic by none', enforce: 'level verify by mta-sts', testing: 'level opportunistic by mta-sts +testing verify', nothing: 'level opportunistic by none' },
  encrypt: { tlsa: 'level encrypt by connector', enforce: 'level verify by mta-sts', testing: 'level encrypt by mta-sts +testing verify', nothing: 'level encrypt by connector' },
  dane: { tlsa: 'dane by dane', enforce: 'level verify by mta-sts', testing: 'level opportunistic by mta-sts +testing verify', nothing: 'level opportunistic by none' },
  'dane-only': { tlsa: 'dane by dane', enforce: NO_TLSA, testing: NO_TLSA, nothing: NO_TLSA },
  'verify-ca': { tlsa: 'level verify-ca by connector', enforce: 'level verify-ca by connector', testing: 'level verify-ca by connector', nothing: 'level verify-ca by connector' },
  verify: { tlsa: 'level verify by connector', enforce: 'level verify by connector', testing: 'level verify by connector', nothing: 'level verify by connector' },
  fingerprint: { tlsa: 'level fingerprint by connector', enforce: 'level fingerprint by connector', testing: 'level fingerprint by connector', nothing: 'level fingerprint by connector' },
};

t.test("ARCHITECTURE.md's table, row by row", async (t) => {
  for (const [level, row] of Object.entries(table) as Array<[TlsLevel, Record<Column, string>]>) {
    for (const [column, expected] of Object.entries(row) as Array<[Column, string]>) {
      const [tlsa, mtaSts] = columns[column];
      t.equal(summary(plan(level, tlsa, mtaSts)), expected, `${level} × ${column}`);
    }
  }
});

t.test('what the rules carry for the transit record', async (t) => {
  const daneHost = plan('dane', usable, sts('enforce'));
  t.match(daneHost, { kind: 'connect', rule: { tls: 'dane-only', plaintextFallback: false, policy: { source: 'dane', tlsa: [TLSA] } } }, 'an MX host with usable TLSA records is judged by DANE, not MTA-STS (RFC 8461 §2)');
  t.equal(daneHost.explanation, `DANE: 1 usable TLSA record(s) at ${OWNER}; the certificate must match one`, 'the explanation says where the records were found');
  const enforced = plan('opportunistic', nothing, sts('enforce'));
  t.same(enforced.kind === 'connect' ? enforced.rule : undefined, {
    tls: 'verify',
    plaintextFallback: false,
    policy: { source: 'mta-sts', mode: 'enforce', id: '20261201', mx: ['*.example.test'], policyText: ['version: STSv1', 'mode: enforce', 'mx: *.example.test', 'max_age: 86400'] },
  }, 'mode, id, mx patterns and the policy lines (TLS-RPT policy-string)');
  const padded = sts('enforce') as Extract<MtaStsState, { kind: 'policy' }>;
  padded.text += `x-extension: ${'a'.repeat(1000)}\r\n`.repeat(60);
  t.same(stsPolicy(padded), { source: 'mta-sts', mode: 'enforce', id: '20261201', mx: ['*.example.test'], policyText: ['version: STSv1', 'mode: enforce', 'mx: *.example.test', 'max_age: 86400'] }, 'extension lines are not carried into every record and log line');
  t.match(plan('none', nothing, sts('enforce')).explanation, /^published policy overridden by the operator \(MTA-STS enforce, id 20261201\)/);
  t.notMatch(plan('none', nothing, noSts).explanation, /overridden/, 'nothing published, nothing overridden');
});

t.test('between the columns', async (t) => {
  t.equal(summary(plan('opportunistic', nothing, sts('enforce', ['mail.other.test']))), 'skip', 'enforce: a host the policy does not name is not used');
  t.equal(summary(plan('opportunistic', nothing, sts('enforce', ['mx1.example.test']))), 'level verify by mta-sts', 'a literal pattern');
  t.equal(summary(plan('opportunistic', nothing, sts('enforce', ['*.mx1.example.test']))), 'skip', 'a wildcard covers exactly one label');
  t.match(plan('dane', nothing, sts('enforce', ['mail.other.test'])), {
    kind: 'skip',
    code: 450,
    text: `4.7.5 MX host ${HOST} matches none of the MTA-STS policy's mx patterns (mail.other.test): not used`,
    failure: 'validation-failure',
    policy: { source: 'mta-sts', mode: 'enforce', id: '20261201', mx: ['mail.other.test'] },
  }, 'a skipped host: what its transit record says, as TLS-RPT reports an MX outside the policy');
  const unlisted = plan('opportunistic', nothing, sts('testing', ['mail.other.test']));
  t.equal(summary(unlisted), 'level opportunistic by mta-sts +testing verify', 'testing: used anyway');
  t.match(unlisted.explanation, /matches none of mail\.other\.test, which enforce would refuse/);
  t.match(unlisted, { unreported: 'validation-failure' }, 'and recorded as TLS-RPT reports a host enforce would skip');
  t.notOk('unreported' in plan('opportunistic', nothing, sts('testing')), 'a host the testing policy names: nothing to record');
  t.equal(summary(plan('encrypt', nothing, sts('none'))), 'level encrypt by connector', 'mode none: nothing');

  const unavailable: MtaStsState = { kind: 'unavailable', failure: { resultType: 'sts-policy-fetch-error', reason: 'cannot connect to mta-sts.example.test' } };
  t.match(plan('opportunistic', nothing, unavailable), { kind: 'connect', decidedBy: 'none', unreported: 'sts-policy-fetch-error' }, 'a policy that could not be had is no policy, and a failure to report');

  const unusable: TlsaFinding = { kind: 'unusable', owner: OWNER, unusable: [PKIX] };
  t.match(plan('dane', unusable, noSts), { kind: 'connect', decidedBy: 'dane', dane: false, rule: { tls: 'encrypt', policy: { source: 'dane', tlsa: [PKIX] } } }, 'only unusable records: TLS, not authenticated (RFC 7672 §2.2)');
  // records that authenticate nobody leave MTA-STS to do it: dane is never weaker than opportunistic
  t.match(plan('dane', unusable, sts('enforce')), { kind: 'connect', decidedBy: 'mta-sts', rule: { tls: 'verify', plaintextFallback: false, policy: { source: 'mta-sts', mode: 'enforce' } } }, 'only unusable records under MTA-STS enforce: the policy authenticates the host');
  t.match(plan('dane', unusable, sts('enforce', ['mail.other.test'])), { kind: 'skip', decidedBy: 'mta-sts' }, 'and a host outside its mx patterns is not used');
  t.match(plan('dane', unusable, sts('testing')), { kind: 'connect', decidedBy: 'mta-sts', rule: { tls: 'encrypt', testing: { tls: 'verify' } } }, 'testing: TLS required as the records say, what enforce would refuse recorded');
  t.match(plan('dane', unusable, sts('none')), { rule: { tls: 'encrypt', policy: { source: 'dane', tlsa: [PKIX] } } }, 'mode none: the records alone');
  t.match(plan('dane-only', unusable, noSts), { kind: 'defer', failure: 'dane-required', text: `4.7.5 No usable TLSA records (dane-only) for host ${HOST}` });

  const failed: TlsaFinding = { kind: 'failed', owner: OWNER, error: '127.0.0.1:53 answered SERVFAIL' };
  for (const level of ['dane', 'dane-only'] as const) {
    t.match(plan(level, failed, sts('enforce')), { kind: 'defer', code: 450, failure: 'dnssec-invalid', text: `4.7.5 TLSA lookup error: 127.0.0.1:53 answered SERVFAIL for host ${HOST}`, policy: { source: 'dane', tlsa: [] }, explanation: `the TLSA lookup of ${OWNER} failed (127.0.0.1:53 answered SERVFAIL): deferred, never downgraded` }, `${level}: a failed TLSA lookup defers, never falls back to MTA-STS`);
  }
  const insecure: TlsaFinding = { kind: 'insecure', reason: 'the MX answer for example.test is not DNSSEC-validated' };
  t.equal(summary(plan('dane', insecure, noSts)), 'level opportunistic by none', 'no AD bit: no DANE');
  t.match(plan('dane', insecure, noSts).explanation, /no DANE \(the MX answer for example\.test is not DNSSEC-validated\)/);
  t.match(plan('dane-only', insecure, noSts), { kind: 'defer', failure: 'dane-required', text: /No DNSSEC-validated TLSA records/ });
});

t.test('TLS-Required: No switches published policies off, never the connector\'s own level', async (t) => {
  const waived = { tlsRequiredNo: true };
  t.same(consultedSources({ tls: 'dane', plaintextFallback: true, mtaSts: true, smartHosts: [] }, true), { dane: false, mtaSts: false });
  t.same(consultedSources({ tls: 'dane-only', plaintextFallback: true, mtaSts: true, smartHosts: [] }, true), { dane: true, mtaSts: false }, "dane-only's DANE is the operator's rule");
  t.equal(summary(plan('dane', usable, sts('enforce'), waived)), 'level opportunistic by none');
  t.equal(summary(plan('encrypt', nothing, sts('enforce'), waived)), 'level encrypt by connector');
  t.match(plan('opportunistic', nothing, sts('enforce'), waived).explanation, /^TLS-Required: No: published policies not applied to this message/);
  t.equal(summary(plan('dane-only', usable, noSts, waived)), 'dane by dane');
  t.equal(summary(plan('verify', nothing, sts('enforce'), waived)), 'level verify by connector');
});

t.test('what the header waives, for the transit record', async (t) => {
  const waives = (tls: TlsLevel, fields: { mtaSts?: boolean; smartHosts?: Array<{ host: string; port: number }> } = {}) =>
    waivedByHeader({ tls, plaintextFallback: true, mtaSts: fields.mtaSts ?? true, smartHosts: fields.smartHosts ?? [] });
  for (const level of ['none', 'opportunistic', 'encrypt', 'dane'] as const) t.equal(waives(level), true, `${level}: MTA-STS (and dane's DANE) switched off`);
  for (const level of ['dane-only', 'verify-ca', 'verify', 'fingerprint'] as const) t.equal(waives(level), false, `${level}: the operator's rule, nothing published to waive`);
  t.equal(waives('opportunistic', { mtaSts: false }), false, 'mtaSts: false asks nothing');
  t.equal(waives('dane', { smartHosts: [{ host: 'relay.test', port: 25 }] }), true, "a smart host under dane: its DANE is the domain's");
  t.equal(waives('encrypt', { smartHosts: [{ host: 'relay.test', port: 25 }] }), false, 'a smart host under encrypt asks nothing');
});

t.test('which sources are asked', async (t) => {
  const ask = (tls: TlsLevel, mtaSts = true) => consultedSources({ tls, plaintextFallback: true, mtaSts, smartHosts: [] }, false);
  t.same(ask('opportunistic'), { dane: false, mtaSts: true });
  t.same(ask('none'), { dane: false, mtaSts: true }, 'none asks MTA-STS only to say it was overridden');
  t.same(ask('dane'), { dane: true, mtaSts: true });
  t.same(ask('dane-only'), { dane: true, mtaSts: false });
  t.same(ask('verify'), { dane: false, mtaSts: false });
  t.same(ask('opportunistic', false), { dane: false, mtaSts: false }, 'mtaSts: false');
  t.same(consultedSources({ tls: 'dane', plaintextFallback: true, mtaSts: true, smartHosts: [{ host: 'relay.test', port: 25 }] }, false), { dane: true, mtaSts: false }, 'a smart-host route: its own level, DANE included');
  t.equal(noListedMxText('example.test', { source: 'mta-sts', mode: 'enforce', id: '1', mx: ['mail.other.test'], policyText: [] }), '4.7.5 None of the MX hosts of example.test matches its MTA-STS policy (mail.other.test)');
});
