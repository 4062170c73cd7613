// The process's DNS cache: answers kept for their TTL, one query in flight per question,
// failures not kept. Proven by counting the questions the DNS server receives.
import t from 'tap';
import dns from 'node:dns';
import { cachedDnsQuery } from '../../src/outbound/dns/cache.js';
import { createDnsQuery } from '../../src/outbound/dns/client.js';
import { createDnsLookups, dnsLookupsFor } from '../../src/outbound/resolver.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { testConfig } from '../helpers/testConfig.js';

const server = await startDnsServer({
  'burst.test': { MX: [{ preference: 10, exchange: 'mx.burst.test' }], ttl: 300 },
  'long.test': { A: ['127.0.0.1'], ttl: 86_400 },
  'gone.test': 'NXDOMAIN',
  'flaky.test': 'SERVFAIL',
  'zero.test': { A: ['127.0.0.2'], ttl: 0 },
});
t.teardown(() => server.close());

const servers = [{ host: '127.0.0.1', port: server.port }];
const countOf = (name: string): number => server.queries.filter((query) => query.name === name).length;

/** Cached lookups on a clock the test moves. */
function cachedLookups() {
  const clock = { now: 1_000_000 };
  const query = cachedDnsQuery(createDnsQuery({ servers, dnssec: false, timeout: 5_000, tries: 1 }), { now: () => clock.now });
  return { clock, lookups: createDnsLookups(query) };
}

t.test('1,000 concurrent lookups of one MX make one query; it is asked again once its TTL is over', async (t) => {
  const { clock, lookups } = cachedLookups();
  const answers = await Promise.all(Array.from({ length: 1000 }, () => lookups.mx('burst.test')));
  t.equal(countOf('burst.test'), 1, 'one query in flight for all of them');
  t.ok(answers.every((answer) => answer.kind === 'found' && answer.records[0]?.exchange === 'mx.burst.test'));

  clock.now += 299_000;
  t.match(await lookups.mx('BURST.test.'), { kind: 'found', ttl: 1 }, 'from the cache (names compared as DNS does), with the TTL that is left');
  t.equal(countOf('burst.test'), 1);

  clock.now += 1_000;
  t.match(await lookups.mx('burst.test'), { kind: 'found', ttl: 300 });
  t.equal(countOf('burst.test'), 2, 'expired: asked again');
});

t.test('TTLs are cut to an hour', async (t) => {
  const { clock, lookups } = cachedLookups();
  const asked = (): number => server.queries.filter((query) => query.name === 'long.test' && query.type === 'A').length;
  await lookups.addresses('long.test');
  clock.now += 3_599_000;
  await lookups.addresses('long.test');
  t.equal(asked(), 1, 'a TTL of a day: cached within the hour');
  clock.now += 1_000;
  await lookups.addresses('long.test');
  t.equal(asked(), 2, 'after it, asked again');
});

t.test('denials are kept, temporary failures and TTL 0 are not', async (t) => {
  const { lookups } = cachedLookups();
  for (let round = 0; round < 3; round++) {
    t.match(await lookups.mx('gone.test'), { kind: 'nxdomain' });
    t.match(await lookups.mx('flaky.test'), { kind: 'temporary' });
    t.match(await lookups.addresses('zero.test'), { kind: 'found' });
  }
  t.equal(countOf('gone.test'), 1, 'NXDOMAIN asked once');
  t.equal(countOf('flaky.test'), 3, 'SERVFAIL asked every time');
  t.equal(server.queries.filter((query) => query.name === 'zero.test' && query.type === 'A').length, 3, 'TTL 0 asked every time');
});

t.test('the process keeps one cache while dns.servers and dns.dnssec stay the same', async (t) => {
  const config = testConfig({ dns: { servers } });
  const lookups = dnsLookupsFor(config);
  t.equal(dnsLookupsFor(testConfig({ dns: { servers: [{ ...servers[0]! }] } })), lookups, 'an equal config (a reload that changed nothing else)');
  t.not(dnsLookupsFor(testConfig({ dns: { servers, dnssec: true } })), lookups, 'dnssec changed: answers trusted under the old setting are dropped');
  const again = dnsLookupsFor(config);
  t.not(again, lookups, 'and back: a new cache again');
  await again.mx('burst.test');
  const asked = countOf('burst.test');
  await dnsLookupsFor(config).mx('burst.test');
  t.equal(countOf('burst.test'), asked, 'the second delivery is answered from the cache');
});

t.test('no dns.servers: the system resolver’s servers', async (t) => {
  const system = dns.getServers();
  t.teardown(() => dns.setServers(system));
  dns.setServers([`127.0.0.1:${server.port}`]);
  const before = countOf('gone.test');
  t.match(await dnsLookupsFor(testConfig()).mx('gone.test'), { kind: 'nxdomain' });
  t.equal(countOf('gone.test'), before + 1, 'the question went to the server the system resolver names');
});

t.test('a query that throws despite its contract is not kept in flight: the next lookup asks again', async (t) => {
  let calls = 0;
  const query = cachedDnsQuery(async () => {
    calls++;
    if (calls === 1) throw new Error('a bug below the cache');
    return { kind: 'nodata', secure: false, ttl: 60 };
  });
  await t.rejects(query('bug.test', 'MX'), /a bug below the cache/);
  t.same(await query('bug.test', 'MX'), { kind: 'nodata', secure: false, ttl: 60 });
  t.equal(calls, 2);
});
