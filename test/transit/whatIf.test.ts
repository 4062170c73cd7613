// What `policy what-if` counts: recorded sessions of the domains whose connector another
// config changes, replayed and tallied per domain — delivered (and how differently),
// deferred by reason and host, falling back, going ahead where they were refused, not
// to be told — and the domains it leaves alone. The configs are compared key by key.
import t from 'tap';
import type { OutboundConnector } from '../../src/config/types.js';
import { connectorChanges } from '../../src/policy/connectorChanges.js';
import type { ObservedSession, ObservedTls } from '../../src/policy/observedTls.js';
import type { TransitRecord } from '../../src/transit/record.js';
import { WhatIfTally } from '../../src/transit/whatIf.js';
import { compareConfigs, globalAsRecorded } from '../../src/transit/whatIfCompare.js';
import { testConfig, testConnector } from '../helpers/testConfig.js';
import { sessionRecord } from '../helpers/transitRecords.js';

const SINCE = new Date('2026-12-01T00:00:00Z');
const UNTIL = new Date('2026-12-08T00:00:00Z');

function established(names: string[], fields: Partial<ObservedSession> = {}): ObservedSession {
  return {
    kind: 'established',
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    chainValid: true,
    certificate: { dnsNames: names, ipAddresses: [], commonNames: [], sha256: 'a'.repeat(64), spkiSha256: 'b'.repeat(64) },
    ...fields,
  };
}

/** A session the MX host `host` of `domain` had, as this version records it. */
function recorded(domain: string, host: string, observed: ObservedTls, fields: Partial<TransitRecord> = {}): TransitRecord {
  return sessionRecord({ domain, host, connector: 'default', route: 'mx', policy: { source: 'none' }, verdict: 'verified', observed, published: { mtaSts: { kind: 'none', reason: 'no policy' } }, ...fields });
}

const connector = (name: string, domains: string[], fields: Partial<OutboundConnector>) => testConnector({ name, domains, mtaSts: false, ...fields });

t.test('per domain: delivered, differently, deferred by reason and host, fallen back, going ahead, unknown', async (t) => {
  const current = testConfig({ outbound: [connector('checked', ['checked.test'], { tls: 'verify' }), connector('same', ['same.test'], { tls: 'encrypt' })] });
  const next = testConfig({
    outbound: [
      connector('partners', ['fabrikam.test'], { tls: 'verify' }),
      connector('checked', ['checked.test'], { tls: 'opportunistic' }),
      connector('same', ['same.test'], { tls: 'encrypt' }),
    ],
  });
  const tally = new WhatIfTally(compareConfigs(current, next));
  const refusedUntrusted = { chainValid: false, chainError: 'self-signed certificate', chainFailure: 'certificate-not-trusted' as const };
  const records = [
    recorded('fabrikam.test', 'mx1.fabrikam.test', established(['mx1.fabrikam.test']), { messages: 5, delivered: 5 }),
    recorded('fabrikam.test', 'mx1.fabrikam.test', established(['mx1.fabrikam.test']), { messages: 2, delivered: 2, reused: true }),
    recorded('fabrikam.test', 'mx2.fabrikam.test', established(['other.test']), { verdict: 'trusted', messages: 3, delivered: 3 }),
    recorded('fabrikam.test', 'mx3.fabrikam.test', established(['other.test']), { verdict: 'trusted', messages: 1, delivered: 1 }),
    recorded('fabrikam.test', 'mx3.fabrikam.test', { kind: 'starttls-not-offered' }, { tls: null, verdict: 'none', messages: 4, delivered: 4 }),
    sessionRecord({ domain: 'fabrikam.test', connector: 'default', policy: { source: 'none' }, messages: 6, delivered: 6 }),
    // verify refused a self-signed chain; opportunistic would have taken it
    recorded('checked.test', 'mx.checked.test', established(['mx.checked.test'], refusedUntrusted), { connector: 'checked', verdict: 'untrusted', failure: 'certificate-not-trusted', outcome: 'deferred', messages: 3, delivered: 0 }),
    // a broken handshake: opportunistic would retry in plaintext, as the retry's record says
    recorded('checked.test', 'mx.checked.test', { kind: 'handshake-failed', reason: 'wrong version number' }, { connector: 'checked', tls: null, verdict: 'none', failure: 'validation-failure', outcome: 'deferred', messages: 2, delivered: 0 }),
    recorded('same.test', 'mx.same.test', established(['mx.same.test'])),
    recorded('same.test', 'mx.same.test', established(['mx.same.test'])),
    recorded('unnamed.test', 'mx.unnamed.test', established(['mx.unnamed.test'])),
  ];
  for (const record of records) tally.add(record);
  const report = tally.report(SINCE, UNTIL);

  t.same([report.since, report.until], [SINCE.toISOString(), UNTIL.toISOString()]);
  t.same(
    report.domains.map((domain) => domain.domain),
    ['fabrikam.test', 'checked.test'],
    'the domains whose connector changes, most messages deferred first',
  );
  t.same(report.unchanged, { domains: 2, sessions: 3 }, 'same.test keeps its connector, unnamed.test the implicit default: not replayed');
  const [fabrikam, checked] = report.domains;
  t.match(fabrikam, {
    current: { name: 'default', level: 'opportunistic', implicit: true },
    next: { name: 'partners', level: 'verify', implicit: false },
    changes: { renamed: true, replayed: ['tls', 'mtaSts'], asRecorded: [] },
    sessions: 6,
    messages: 21,
    delivers: { sessions: 2, messages: 7 },
    differently: [{ sessions: 2, messages: 7, was: { tls: 'TLSv1.3', verdict: 'verified', policy: 'none' }, now: { tls: 'TLSv1.3', verdict: 'verified', policy: 'connector' } }],
    defers: { sessions: 3, messages: 8 },
    cannotTell: { sessions: 1, messages: 6, reasons: { 'not-recorded': { sessions: 1, messages: 6 } } },
  });
  t.same(
    fabrikam!.deferrals.map(({ reason, sessions, messages, hosts }) => [reason, sessions, messages, hosts.map((host) => [host.host, host.messages])]),
    [
      ['certificate-name', 2, 4, [['mx2.fabrikam.test', 3], ['mx3.fabrikam.test', 1]]],
      ['starttls-not-offered', 1, 4, [['mx3.fabrikam.test', 4]]],
    ],
    'reasons by messages deferred (then sessions), and under each its hosts',
  );
  t.match(fabrikam!.deferrals[1]!.hosts[0]!.text, /^450 4\.7\.4 TLS is required, but was not offered by host mx3\.fabrikam\.test\[192\.0\.2\.25\]$/);
  t.match(checked, {
    changes: { renamed: false, replayed: ['tls'] },
    sessions: 2,
    messages: 0,
    goesAhead: { sessions: 1, messages: 3 },
    fallsBack: { sessions: 1, messages: 0 },
    defers: { sessions: 0, messages: 0 },
    differently: [],
  });
  t.same(report.total, { sessions: 8, messages: 21, defers: { sessions: 3, messages: 8 }, cannotTell: { sessions: 1, messages: 6 } });
});

t.test('what differs between two connectors, key by key', async (t) => {
  const base = connector('p', ['p.test'], { tls: 'verify', tlsNames: ['a.test', 'b.test'], crl: ['x.pem'], smartHosts: [{ host: 'h1.test', port: 25 }, { host: 'h2.test', port: 25 }] });
  t.same(connectorChanges(base, { ...base, tlsNames: ['b.test', 'a.test'], crl: ['x.pem'] }), { renamed: false, replayed: [], asRecorded: [] }, 'sets compare without their order');
  t.same(connectorChanges(base, { ...base, smartHosts: [...base.smartHosts].reverse() }).replayed, ['smartHosts'], 'smart hosts are tried in order: the order counts');
  t.same(connectorChanges(base, { ...base, name: 'q', ciphers: 'ECDHE+AESGCM', fingerprints: ['c'.repeat(64)] }), { renamed: true, replayed: ['fingerprints'], asRecorded: ['ciphers'] });
  t.same(connectorChanges(base, { ...base, crl: [] }).asRecorded, ['crl'], 'a CRL changes the chain verdict, which the replay takes as recorded');
});

t.test('config keys outside the connectors that the replay takes as recorded', async (t) => {
  const current = testConfig();
  t.same(globalAsRecorded(current, testConfig()), []);
  const next = testConfig({ tls: { ...current.tls, trust: ['ca.pem'], crl: ['r.pem'] }, dns: { dnssec: true } });
  t.same(globalAsRecorded(current, next), ['tls.trust', 'tls.crl', 'dns.dnssec']);
});

t.test('the MX port of the new config is where its replay dials', async (t) => {
  const next = testConfig({ outbound: [connector('p', ['p.test'], { tls: 'encrypt' })], delivery: { ...testConfig().delivery, port: 2525 } });
  const compared = compareConfigs(testConfig(), next)('p.test');
  t.equal(compared?.target.mxPort, 2525);
  t.equal(compareConfigs(next, next)('p.test'), undefined, 'the same config changes nothing');
});

t.test('hosts that gave a reason equally often are listed by name', async (t) => {
  const tally = new WhatIfTally(compareConfigs(testConfig(), testConfig({ outbound: [connector('p', ['p.test'], { tls: 'encrypt' })] })));
  for (const host of ['mx2.p.test', 'mx1.p.test']) tally.add(recorded('p.test', host, { kind: 'starttls-not-offered' }, { tls: null, verdict: 'none' }));
  const [domain] = tally.report(SINCE, UNTIL).domains;
  t.same(domain!.deferrals[0]!.hosts.map((host) => host.host), ['mx1.p.test', 'mx2.p.test']);
});
