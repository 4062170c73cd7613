import t from 'tap';
import { selectOutboundConnector } from '../../src/policy/outboundConnector.js';
import { testConfig, testConnector } from '../helpers/testConfig.js';

const config = testConfig({
  queue: { dir: '/nonexistent', store: 'lmdb', retry: [60_000], maxAge: 123_000, delayNotice: 1_000 },
  outbound: [
    testConnector({ name: 'catch-all', domains: ['*'], tls: 'encrypt' }),
    testConnector({ name: 'fabrikam-any', domains: ['*.fabrikam.test'], tls: 'verify-ca' }),
    testConnector({ name: 'fabrikam-eu', domains: ['*.eu.fabrikam.test'], tls: 'verify' }),
    testConnector({ name: 'fabrikam-exact', domains: ['fabrikam.test', 'mail.eu.fabrikam.test'], tls: 'fingerprint' }),
    testConnector({ name: 'contoso', domains: ['contoso.test'], tls: 'verify' }),
  ],
});

t.test('the most specific pattern wins, whatever the file order', async (t) => {
  const cases: Array<[domain: string, connector: string, pattern: string]> = [
    ['fabrikam.test', 'fabrikam-exact', 'fabrikam.test'],
    ['x.fabrikam.test', 'fabrikam-any', '*.fabrikam.test'],
    ['a.b.c.fabrikam.test', 'fabrikam-any', '*.fabrikam.test'],
    ['eu.fabrikam.test', 'fabrikam-any', '*.fabrikam.test'],
    ['x.eu.fabrikam.test', 'fabrikam-eu', '*.eu.fabrikam.test'],
    ['mail.eu.fabrikam.test', 'fabrikam-exact', 'mail.eu.fabrikam.test'],
    ['notfabrikam.test', 'catch-all', '*'],
    ['contoso.test', 'contoso', 'contoso.test'],
    ['sub.contoso.test', 'catch-all', '*'],
    ['elsewhere.test', 'catch-all', '*'],
  ];
  for (const [domain, connector, pattern] of cases) {
    const selected = selectOutboundConnector(config, domain);
    t.equal(selected.connector.name, connector, `${domain} → ${connector}`);
    t.equal(selected.reason, `domain "${domain}" matched pattern "${pattern}" of connector "${connector}"`);
  }
});

t.test('domains are normalised before matching', async (t) => {
  t.equal(selectOutboundConnector(config, 'X.FABRIKAM.Test.').connector.name, 'fabrikam-any');
  t.equal(selectOutboundConnector(config, ' Contoso.TEST ').connector.name, 'contoso');
  const unicode = testConfig({ outbound: [testConnector({ name: 'idn', domains: ['xn--bcher-kva.test'] })] });
  const selected = selectOutboundConnector(unicode, 'Bücher.test');
  t.equal(selected.connector.name, 'idn');
  t.match(selected.reason, /"xn--bcher-kva\.test"/);
});

t.test('a wildcard does not match its own base name', async (t) => {
  const only = testConfig({ outbound: [testConnector({ name: 'subs', domains: ['*.b.test'] })] });
  t.equal(selectOutboundConnector(only, 'b.test').connector.name, 'default');
  t.equal(selectOutboundConnector(only, 'xb.test').connector.name, 'default');
  t.equal(selectOutboundConnector(only, 'a.b.test').connector.name, 'subs');
});

t.test('no match gives the implicit default connector', async (t) => {
  const noCatchAll = testConfig({
    queue: { dir: '/nonexistent', store: 'lmdb', retry: [60_000], maxAge: 456_000, delayNotice: 1_000 },
    outbound: [testConnector({ name: 'contoso', domains: ['contoso.test'], tls: 'verify' })],
  });
  const selected = selectOutboundConnector(noCatchAll, 'Other.Test');
  t.same(selected.connector, {
    name: 'default',
    domains: ['*'],
    smartHosts: [],
    tls: 'opportunistic',
    tlsNames: [],
    fingerprints: [],
    minVersion: 'TLSv1.2',
    ciphers: undefined,
    crl: [],
    clientCertificate: false,
    plaintextFallback: true,
    mtaSts: true,
    maxAge: 456_000,
    implicit: true,
  });
  t.equal(selected.reason, 'no connector names domain "other.test"; using the implicit default connector (MX routing, opportunistic TLS)');
  // per-connector state (TLS contexts, backoff) is kept by the connector object
  t.equal(selectOutboundConnector(noCatchAll, 'another.test').connector, selected.connector, 'one implicit connector per config snapshot');
  const reloaded = testConfig({ ...noCatchAll, queue: { ...noCatchAll.queue, maxAge: 789_000 } });
  t.equal(selectOutboundConnector(reloaded, 'other.test').connector.maxAge, 789_000, 'a new snapshot gets its own');
});

t.test('a name that does not normalise still meets the catch-all', async (t) => {
  t.equal(selectOutboundConnector(config, 'bad..name').connector.name, 'catch-all');
  t.equal(selectOutboundConnector(testConfig(), '').connector.name, 'default');
});
