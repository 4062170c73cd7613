import t from 'tap';
import { resolveRoute } from '../../src/outbound/route.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { testConfig, testConnector } from '../helpers/testConfig.js';

const dnsServer = await startDnsServer({
  'example.test': { MX: [{ preference: 20, exchange: 'mx2.example.test' }, { preference: 10, exchange: 'mx1.example.test' }] },
  'mx1.example.test': { A: ['127.0.0.1'] },
  'mx2.example.test': { A: ['127.0.0.2'], AAAA: ['::1'] },
  'ties.test': { MX: [{ preference: 10, exchange: 'mx1.example.test' }, { preference: 10, exchange: 'mx2.example.test' }] },
  'nomx.test': { A: ['127.0.0.3'] },
  'empty.test': {},
  'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
  'servfail.test': 'SERVFAIL',
  'mxservfail.test': { MX: 'SERVFAIL', A: ['127.0.0.4'] },
  'badmxhost.test': { MX: [{ preference: 10, exchange: 'broken.mx.test' }] },
  'broken.mx.test': 'SERVFAIL',
  'gonemxhost.test': { MX: [{ preference: 10, exchange: 'gone.mx.test' }] },
  'partial.test': { MX: [{ preference: 10, exchange: 'gone.mx.test' }, { preference: 20, exchange: 'mx1.example.test' }] },
  'relay.example.test': { A: ['127.0.0.5'] },
});
t.teardown(() => dnsServer.close());

const config = testConfig({ dns: { servers: [{ host: '127.0.0.1', port: dnsServer.port }] }, delivery: { port: 2525, concurrency: 1, perHost: 1 } });
const mx = testConnector({ name: 'mx', domains: ['*'] });

t.test('MX hosts by preference, resolved through the configured server, on delivery.port', async (t) => {
  const route = await resolveRoute(mx, 'Example.Test', config);
  t.same(route, {
    kind: 'hosts',
    hosts: [
      { name: 'mx1.example.test', addresses: ['127.0.0.1'], port: 2525, preference: 10 },
      { name: 'mx2.example.test', addresses: ['127.0.0.2', '::1'], port: 2525, preference: 20 },
    ],
  });
  t.ok(dnsServer.queries.some((q) => q.name === 'example.test' && q.type === 'MX'), 'the MX question reached the test server');
});

t.test('equal preferences are all kept', async (t) => {
  const route = await resolveRoute(mx, 'ties.test', config);
  t.equal(route.kind, 'hosts');
  t.same(route.kind === 'hosts' ? route.hosts.map((hop) => hop.name).sort() : [], ['mx1.example.test', 'mx2.example.test']);
});

t.test('no MX: the domain itself is the implicit MX', async (t) => {
  t.same(await resolveRoute(mx, 'nomx.test', config), { kind: 'hosts', hosts: [{ name: 'nomx.test', addresses: ['127.0.0.3'], port: 2525, preference: 0 }] });
});

t.test('failures, with Postfix wording', async (t) => {
  const cases: Array<[domain: string, permanent: boolean, code: number, response: string]> = [
    ['nx.test', true, 550, '550 5.1.2 Host or domain name not found. Name service error for name=nx.test type=MX: Host not found'],
    ['servfail.test', false, 451, '451 4.4.3 Host or domain name not found. Name service error for name=servfail.test type=MX: Host not found, try again'],
    ['mxservfail.test', false, 451, '451 4.4.3 Host or domain name not found. Name service error for name=mxservfail.test type=MX: Host not found, try again'],
    ['nullmx.test', true, 556, '556 5.1.10 Domain nullmx.test does not accept mail (null MX)'],
    ['empty.test', true, 550, '550 5.4.4 Host or domain name not found. Name service error for name=empty.test type=A: Host found but no data record of requested type'],
    ['badmxhost.test', false, 451, '451 4.4.3 Host or domain name not found. Name service error for name=broken.mx.test type=A: Host not found, try again'],
    ['gonemxhost.test', true, 550, '550 5.4.4 Host or domain name not found. Name service error for name=gone.mx.test type=A: Host not found'],
    ['bad..name', true, 550, '550 5.1.2 Bad destination domain name "bad..name"'],
  ];
  for (const [domain, permanent, code, response] of cases) {
    t.same(await resolveRoute(mx, domain, config), { kind: 'failed', permanent, code, response }, domain);
  }
});

t.test('an MX host that does not resolve is skipped when another does', async (t) => {
  t.same(await resolveRoute(mx, 'partial.test', config), {
    kind: 'hosts',
    hosts: [{ name: 'mx1.example.test', addresses: ['127.0.0.1'], port: 2525, preference: 20 }],
  });
});

t.test('smart hosts in configured order; IPs as they are, names resolved', async (t) => {
  const smart = testConnector({
    name: 'smart',
    domains: ['*'],
    smartHosts: [
      { host: 'relay.example.test', port: 2626 },
      { host: '::1', port: 26 },
      { host: 'gone.smart.test', port: 25 },
    ],
  });
  t.same(await resolveRoute(smart, 'anything.test', config), {
    kind: 'hosts',
    hosts: [
      { name: 'relay.example.test', addresses: ['127.0.0.5'], port: 2626, preference: 0 },
      { name: '::1', addresses: ['::1'], port: 26, preference: 1 },
    ],
  });
  t.notOk(dnsServer.queries.some((q) => q.name === 'anything.test'), 'smart hosts need no lookup of the recipient domain');
});

t.test('a smart host that does not exist defers rather than bounces', async (t) => {
  const smart = testConnector({ name: 'smart', domains: ['*'], smartHosts: [{ host: 'gone.smart.test', port: 25 }] });
  t.same(await resolveRoute(smart, 'anything.test', config), {
    kind: 'failed',
    permanent: false,
    code: 451,
    response: '451 4.4.3 Host or domain name not found. Name service error for name=gone.smart.test type=A: Host not found',
  });
});
