// The policy half of `policy explain --lookup`: which sources a connector consults and why
// not (it must agree with the fold's consultedSources), the MTA-STS state as shown, and
// per host the plan with what each failure would cause — judged by decideTls and planHost,
// the functions delivery uses.
import t from 'tap';
import { TLS_LEVELS } from '../../src/config/types.js';
import { explainHost, explainMtaSts, publishedConsultation, type HostFacts } from '../../src/policy/explainPublished.js';
import type { MtaStsState } from '../../src/policy/mtaSts.js';
import { consultedSources, planHost, type PublishedConnector, type TlsaFinding } from '../../src/policy/publishedPolicy.js';

const HOST = 'mx1.example.test';
const TLSA = '3 1 1 8f4e3b9d0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4';
const fetchedAt = new Date('2026-12-01T00:00:00Z');

function sts(mode: 'enforce' | 'testing' | 'none', mx = ['*.example.test'], origin: 'fetched' | 'cache' = 'fetched'): MtaStsState {
  const text = `version: STSv1\nmode: ${mode}\n${mx.map((pattern) => `mx: ${pattern}\n`).join('')}max_age: 86400\n`;
  return { kind: 'policy', policy: { mode, mx, maxAge: 86400 }, text, id: 'abc', fetchedAt, expiresAt: new Date(fetchedAt.getTime() + 86_400_000), origin };
}

const OWNER = `_25._tcp.${HOST}`;
const connector = (tls: PublishedConnector['tls'], extra: Partial<PublishedConnector> = {}): PublishedConnector => ({ tls, plaintextFallback: true, mtaSts: true, smartHosts: [], ...extra });

/** The facts of HOST with the fold's own plan, as the lookup side builds them. */
function facts(on: PublishedConnector, tlsa: TlsaFinding | undefined, mtaSts: MtaStsState | undefined): HostFacts {
  return { name: HOST, port: 25, preference: 10, addresses: ['192.0.2.1'], ...(tlsa ? { tlsa, tlsaOwner: OWNER } : {}), plan: planHost({ connector: on, host: HOST, tlsa, mtaSts, tlsRequiredNo: false }) };
}

t.test('the consultation says what consultedSources says, for every level, route and mtaSts setting', async (t) => {
  for (const tls of TLS_LEVELS) {
    for (const smartHosts of [[], [{ host: 'gw.example.test', port: 25 }]]) {
      for (const mtaSts of [true, false]) {
        const on = connector(tls, { smartHosts, mtaSts });
        const asked = consultedSources(on, false);
        const shown = publishedConsultation(on);
        const what = `${tls}, ${smartHosts.length > 0 ? 'smart host' : 'MX'}, mtaSts ${mtaSts}`;
        t.equal(shown.dane.consulted, asked.dane, `${what}: DANE`);
        t.equal(shown.mtaSts.consulted, asked.mtaSts, `${what}: MTA-STS`);
        for (const source of [shown.dane, shown.mtaSts]) if (!source.consulted) t.ok(source.why.length > 0, `${what}: a reason for each no`);
      }
    }
  }
  t.match(publishedConsultation(connector('verify', { smartHosts: [{ host: 'gw.example.test', port: 25 }] })).mtaSts, { why: /smart hosts/ });
  t.match(publishedConsultation(connector('opportunistic', { mtaSts: false })).mtaSts, { why: 'the connector sets mtaSts: false' });
  t.match(publishedConsultation(connector('dane-only')).mtaSts, { why: /DANE or nothing/ });
  t.match(publishedConsultation(connector('fingerprint')).mtaSts, { why: "the connector's own rule (fingerprint) stands whatever the domain publishes" });
  t.match(publishedConsultation(connector('encrypt')).dane, { why: "the connector's level encrypt does not ask for DANE (dane and dane-only do)" });
});

t.test('the MTA-STS state as shown: where a policy came from, its fields, a failed refresh', async (t) => {
  t.same(explainMtaSts(connector('verify'), undefined), { consulted: false, why: "the connector's own rule (verify) stands whatever the domain publishes" });
  t.same(explainMtaSts(connector('opportunistic'), { kind: 'none', reason: 'no record' }), { consulted: true, state: 'none', reason: 'no record' });
  const failure = { resultType: 'sts-policy-fetch-error' as const, reason: 'cannot connect' };
  t.same(explainMtaSts(connector('encrypt'), { kind: 'unavailable', failure }), { consulted: true, state: 'unavailable', failure });
  const cached = { ...sts('enforce', ['mx1.example.test'], 'cache'), refreshFailure: failure };
  t.same(explainMtaSts(connector('dane'), cached), {
    consulted: true,
    state: 'policy',
    origin: 'cache',
    mode: 'enforce',
    id: 'abc',
    maxAge: 86400,
    mx: ['mx1.example.test'],
    text: 'version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 86400\n',
    fetchedAt: '2026-12-01T00:00:00.000Z',
    cachedUntil: '2026-12-02T00:00:00.000Z',
    refreshFailure: failure,
  });
  t.throws(() => explainMtaSts(connector('opportunistic'), undefined), /no lookup was made/, 'a consulted source always has a state');
});

t.test('a DANE host: the rule asks for the records, and a failing TLSA lookup would defer it before dialling', async (t) => {
  const on = connector('dane');
  const host = explainHost(on, facts(on, { kind: 'usable', owner: OWNER, usable: [TLSA], unusable: [] }, { kind: 'none', reason: 'no record' }), undefined);
  t.match(host, { plan: 'connect', decidedBy: 'dane', rule: { tls: 'dane-only', policy: { source: 'dane', tlsa: [TLSA] } }, tlsa: { owner: OWNER }, mtaStsMx: null, deferral: null });
  const byEvent = Object.fromEntries(host.outcomes.map(({ event, outcome }) => [event, outcome]));
  t.same(byEvent['certificate-fails'], { action: 'defer', response: `450 4.7.5 Server certificate not verified for host ${HOST}: <reason>` }, 'the TLSA mismatch, not a missing record');
  t.same(byEvent['tlsa-lookup-fails'], { action: 'defer-before-dialling', response: `450 4.7.5 TLSA lookup error: <error> for host ${HOST}` });
});

t.test('what a failing TLSA lookup would do is shown only where DANE acted on an answer', async (t) => {
  const on = connector('dane');
  const cases: Array<[TlsaFinding, boolean]> = [
    [{ kind: 'usable', owner: OWNER, usable: [TLSA], unusable: [] }, true],
    [{ kind: 'unusable', owner: OWNER, unusable: ['1 1 1 00'] }, true],
    [{ kind: 'none' }, true],
    [{ kind: 'insecure', reason: 'the MX answer is not DNSSEC-validated' }, false],
    [{ kind: 'failed', owner: OWNER, error: 'SERVFAIL' }, false],
  ];
  for (const [finding, shown] of cases) {
    const host = explainHost(on, facts(on, finding, undefined), undefined);
    t.equal(host.outcomes.some(({ event }) => event === 'tlsa-lookup-fails'), shown, finding.kind);
  }
  const failed = explainHost(on, facts(on, { kind: 'failed', owner: OWNER, error: 'SERVFAIL' }, undefined), undefined);
  t.match(failed, { plan: 'defer', decidedBy: 'dane', deferral: `450 4.7.5 TLSA lookup error: SERVFAIL for host ${HOST}`, rule: null, outcomes: [] });
});

t.test('MTA-STS: enforce and testing, a host inside and outside the patterns', async (t) => {
  const on = connector('opportunistic');
  const enforce = sts('enforce', ['*.example.test']);
  const inside = explainHost(on, facts(on, undefined, enforce), enforce);
  t.match(inside, { plan: 'connect', decidedBy: 'mta-sts', rule: { tls: 'verify' }, mtaStsMx: { matched: '*.example.test' }, tlsa: null });
  const outside = explainHost(on, { ...facts(on, undefined, sts('enforce', ['mx.other.test'])) }, sts('enforce', ['mx.other.test']));
  t.match(outside, { plan: 'skip', decidedBy: 'mta-sts', mtaStsMx: { matched: null }, rule: null, outcomes: [] });

  const testing = sts('testing', ['mx.other.test']);
  const shadowed = explainHost(on, facts(on, undefined, testing), testing);
  const byEvent = Object.fromEntries(shadowed.outcomes.map(({ event, outcome }) => [event, outcome]));
  t.same(byEvent['certificate-fails'], { action: 'deliver-over-tls', verdict: 'untrusted', wouldFail: `450 4.7.5 Server certificate not verified for host ${HOST}: <reason>` });
  t.same(byEvent['starttls-not-offered'], { action: 'deliver-in-plaintext', wouldFail: `450 4.7.4 TLS is required, but was not offered by host ${HOST}` });
  t.same(byEvent['handshake-failed'], { action: 'plaintext-fallback' }, 'the fallback is the level\'s, testing changes nothing');
  t.equal(explainHost(on, facts(on, undefined, sts('none', [])), sts('none', [])).mtaStsMx, null, 'mode none has no patterns to match');
});

t.test('a host without an address is not tried', async (t) => {
  const on = connector('opportunistic');
  const host = explainHost(on, { name: 'gone.example.test', port: 25, preference: 20, addresses: [], unresolved: 'no such name (NXDOMAIN)' }, undefined);
  t.same(host, {
    host: 'gone.example.test',
    port: 25,
    preference: 20,
    addresses: [],
    tlsa: null,
    mtaStsMx: null,
    plan: 'not-tried',
    decidedBy: null,
    explanation: 'gone.example.test has no address (no such name (NXDOMAIN)): not tried',
    deferral: null,
    rule: null,
    outcomes: [],
  });
});
