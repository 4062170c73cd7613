import t from 'tap';
import { normalizeDomain } from '../../src/config/domain.js';
import type { OutboundConnector, TlsLevel } from '../../src/config/types.js';
import { explainOutbound, MX_NAME_FROM_DNS_WARNING, type NextHopEvent, type NextHopOutcome } from '../../src/policy/explainOutbound.js';
import { testConfig, testConnector } from '../helpers/testConfig.js';

const PIN = 'ab'.repeat(32);

const config = testConfig({
  tls: { cert: '/etc/tlsrelay/relay.crt', key: '/etc/tlsrelay/relay.key', certificates: [], generateIfMissing: false, trust: [], crl: ['/etc/tlsrelay/global.crl'], ocsp: 'off', ocspStapling: true, minVersion: 'TLSv1.2', ciphers: 'ECDHE+AESGCM' },
  delivery: { port: 2526, concurrency: 10, perHost: 2 },
  queue: { dir: '/nonexistent', store: 'lmdb', retry: [60_000], maxAge: 36 * 3_600_000, delayNotice: 1_000 },
  outbound: [
    testConnector({ name: 'catch-all', domains: ['*'], tls: 'encrypt' }),
    testConnector({ name: 'fabrikam-any', domains: ['*.fabrikam.test'], tls: 'verify-ca' }),
    testConnector({
      name: 'fabrikam',
      domains: ['fabrikam.test'],
      tls: 'verify',
      tlsNames: ['mail.fabrikam.test', 'mx2.fabrikam.test'],
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_256_GCM_SHA384',
      crl: ['/etc/tlsrelay/fabrikam.crl'],
      clientCertificate: true,
      maxAge: 86_400_000,
      smartHosts: [
        { host: 'gw.fabrikam.test', port: 25 },
        { host: '192.0.2.25', port: 2525 },
        { host: '2001:db8::25', port: 26 },
      ],
    }),
  ],
});

function explainDomain(domain: string, onConfig = config) {
  return explainOutbound(onConfig, normalizeDomain(domain)!, domain);
}

function outcome(explanation: ReturnType<typeof explainOutbound>, event: NextHopEvent): NextHopOutcome | undefined {
  return explanation.outcomes.find((entry) => entry.event === event)?.outcome;
}

t.test('the most specific connector wins, and the reason names the pattern', async (t) => {
  const exact = explainDomain('fabrikam.test');
  t.equal(exact.connector, 'fabrikam');
  t.equal(exact.reason, 'domain "fabrikam.test" matched pattern "fabrikam.test" of connector "fabrikam"');
  const wildcard = explainDomain('eu.fabrikam.test');
  t.equal(wildcard.connector, 'fabrikam-any');
  t.match(wildcard.reason, /matched pattern "\*\.fabrikam\.test"/);
  const catchAll = explainDomain('contoso.test');
  t.equal(catchAll.connector, 'catch-all');
  t.equal(catchAll.implicit, false, 'a configured "*" is not the implicit default');
});

t.test('every setting of the chosen connector is shown, and the route lists the smart hosts in order', async (t) => {
  const { reason: _reason, outcomes: _outcomes, ...settings } = explainDomain('fabrikam.test');
  t.same(settings, {
    direction: 'outbound',
    asGiven: 'fabrikam.test',
    domain: 'fabrikam.test',
    connector: 'fabrikam',
    implicit: false,
    tls: {
      level: 'verify',
      meaning: 'STARTTLS required; the certificate must chain to a trusted root (system roots or tls.trust) and name one of mail.fabrikam.test, mx2.fabrikam.test',
      tlsNames: ['mail.fabrikam.test', 'mx2.fabrikam.test'],
      fingerprints: [],
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_256_GCM_SHA384',
      crl: ['/etc/tlsrelay/global.crl', '/etc/tlsrelay/fabrikam.crl'],
      clientCertificate: true,
      plaintextFallback: null,
    },
    route: { kind: 'smart-hosts', hosts: ['gw.fabrikam.test:25', '192.0.2.25:2525', '[2001:db8::25]:26'] },
    maxAge: '1d',
    warnings: [],
  });
});

t.test('a domain no connector names gets the implicit default: MX on delivery.port, opportunistic, queue.maxAge', async (t) => {
  const onlyContoso = testConfig({
    delivery: { port: 2526, concurrency: 10, perHost: 2 },
    queue: { dir: '/nonexistent', store: 'lmdb', retry: [60_000], maxAge: 36 * 3_600_000, delayNotice: 1_000 },
    outbound: [testConnector({ name: 'contoso', domains: ['contoso.test'], tls: 'verify' })],
  });
  const explanation = explainDomain('Other.Test.', onlyContoso);
  t.equal(explanation.connector, 'default');
  t.equal(explanation.implicit, true);
  t.match(explanation.reason, /no connector names domain "other\.test"; using the implicit default connector/);
  t.same(explanation.route, { kind: 'mx', domain: 'other.test', port: 2526 });
  t.equal(explanation.tls.level, 'opportunistic');
  t.equal(explanation.tls.plaintextFallback, true);
  t.equal(explanation.tls.ciphers, null, "outbound uses Node's default list, not tls.ciphers (that is inbound)");
  t.equal(explanation.maxAge, '36h');
});

t.test('a Unicode domain is matched and shown in its punycode form', async (t) => {
  const idn = testConfig({ outbound: [testConnector({ name: 'idn', domains: ['xn--bcher-kva.test'], tls: 'encrypt' })] });
  const explanation = explainDomain('Bücher.test', idn);
  t.equal(explanation.asGiven, 'Bücher.test');
  t.equal(explanation.domain, 'xn--bcher-kva.test');
  t.equal(explanation.connector, 'idn');
  t.same(explanation.route, { kind: 'mx', domain: 'xn--bcher-kva.test', port: 25 });
});

t.test('each level: its meaning in one line and what each next-hop failure leads to', async (t) => {
  const notOffered = { action: 'defer', response: '450 4.7.4 TLS is required, but was not offered by host <host>' };
  const refused = { action: 'defer', response: '450 4.7.5 TLS is required, but host <host> refused to start TLS: <reply>' };
  const handshake = { action: 'defer', response: '450 4.7.5 Cannot start TLS: handshake failure: <reason>' };
  const certificate = (reason: string) => ({ action: 'defer', response: `450 4.7.5 Server certificate not verified for host <host>: ${reason}` });
  const cases: Array<[Partial<OutboundConnector> & { tls: TlsLevel }, RegExp, Partial<Record<NextHopEvent, object>>]> = [
    [{ tls: 'none' }, /^no TLS: STARTTLS is never sent/, { 'tls-not-attempted': { action: 'deliver-in-plaintext' } }],
    [
      { tls: 'opportunistic' },
      /^STARTTLS when offered, else plaintext; the certificate is not checked; a failed handshake is retried in plaintext$/,
      {
        'starttls-not-offered': { action: 'deliver-in-plaintext' },
        'starttls-refused': { action: 'deliver-in-plaintext' },
        'starttls-refused-and-closed': { action: 'plaintext-fallback' },
        'handshake-failed': { action: 'plaintext-fallback' },
        'certificate-fails': { action: 'deliver-over-tls', verdict: 'untrusted' },
      },
    ],
    [
      { tls: 'opportunistic', plaintextFallback: false },
      /a failed handshake defers$/,
      { 'starttls-not-offered': { action: 'deliver-in-plaintext' }, 'handshake-failed': handshake },
    ],
    [
      { tls: 'encrypt' },
      /^STARTTLS required; the certificate is not checked$/,
      {
        'starttls-not-offered': notOffered,
        'starttls-refused': refused,
        'starttls-refused-and-closed': refused,
        'handshake-failed': handshake,
        'certificate-fails': { action: 'deliver-over-tls', verdict: 'untrusted' },
      },
    ],
    [{ tls: 'verify-ca' }, /^STARTTLS required; the certificate must chain to a trusted root \(system roots or tls\.trust\)$/, { 'starttls-not-offered': notOffered, 'certificate-fails': certificate('<reason>') }],
    [{ tls: 'verify' }, /and name the host dialled \(MX host or smart host\)$/, { 'handshake-failed': handshake, 'certificate-fails': certificate('<reason>') }],
    [
      { tls: 'fingerprint', fingerprints: [PIN] },
      /^STARTTLS required; the SHA-256 of the certificate or of its public key must be the configured fingerprint$/,
      {
        'starttls-not-offered': notOffered,
        'certificate-fails': certificate('no configured fingerprint matches the certificate (sha256:<certificate sha256>) or its public key'),
      },
    ],
    [{ tls: 'fingerprint', fingerprints: [PIN, 'cd'.repeat(32)] }, /must be one of the 2 configured fingerprints$/, {}],
  ];
  for (const [fields, meaning, outcomes] of cases) {
    const name = `${fields.tls}${fields.plaintextFallback === false ? ' without fallback' : ''}`;
    const single = testConfig({ outbound: [testConnector({ name: 'c', domains: ['c.test'], ...fields })] });
    const explanation = explainDomain('c.test', single);
    t.equal(explanation.tls.level, fields.tls, name);
    t.match(explanation.tls.meaning, meaning, `${name}: meaning`);
    for (const [event, expected] of Object.entries(outcomes)) {
      t.same(outcome(explanation, event as NextHopEvent), expected, `${name}: ${event}`);
    }
    const events = explanation.outcomes.map((entry) => entry.event);
    if (fields.tls === 'none') t.same(events, ['tls-not-attempted'], 'none never sends STARTTLS: nothing else can happen');
    else t.notOk(events.includes('tls-not-attempted'), `${name}: every STARTTLS case is listed instead`);
    t.equal(explanation.tls.plaintextFallback, fields.tls === 'opportunistic' ? (fields.plaintextFallback ?? true) : null, `${name}: plaintextFallback`);
  }
});

t.test('pins are shown as the config writes them', async (t) => {
  const pinned = testConfig({ outbound: [testConnector({ name: 'pin', domains: ['p.test'], tls: 'fingerprint', fingerprints: [PIN] })] });
  t.same(explainDomain('p.test', pinned).tls.fingerprints, [`sha256:${PIN}`]);
});

t.test('verify without tlsNames on MX routes: the name checked comes from DNS, and explain says so', async (t) => {
  const explainOne = (fields: Partial<OutboundConnector>) =>
    explainDomain('c.test', testConfig({ outbound: [testConnector({ name: 'c', domains: ['c.test'], ...fields })] })).warnings;
  t.same(explainOne({ tls: 'verify' }), [MX_NAME_FROM_DNS_WARNING], 'MX route, no tlsNames: warned');
  t.match(MX_NAME_FROM_DNS_WARNING, /without DNSSEC an attacker on the path/);
  t.same(explainOne({ tls: 'verify', tlsNames: ['mail.c.test'] }), [], 'tlsNames are the names checked: no warning');
  t.same(explainOne({ tls: 'verify', smartHosts: [{ host: 'gw.c.test', port: 25 }] }), [], 'a smart host is named by the config, not by DNS');
  for (const tls of ['opportunistic', 'encrypt', 'verify-ca'] as const) t.same(explainOne({ tls }), [], `${tls} checks no name`);
  t.same(explainDomain('unknown.test').warnings, [], 'the implicit default');
});
