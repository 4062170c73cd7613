// The stub resolver against a DNS server on loopback, over real UDP and TCP sockets.
import t from 'tap';
import { createSocket } from 'node:dgram';
import type { HostPort } from '../../src/config/types.js';
import { createDnsQuery, type DnsClientOptions } from '../../src/outbound/dns/client.js';
import { createDnsLookups } from '../../src/outbound/resolver.js';
import { FORGED_ADDRESS, startDnsServer, type DnsTable, type TestDnsServer } from '../helpers/dnsServer.js';

const tlsaData = Buffer.alloc(32, 0xab);
const TABLE: DnsTable = {
  'example.test': { MX: [{ preference: 10, exchange: 'mx.example.test' }], TXT: [['v=STSv1; ', 'id=20261201;'], 'other'], ttl: 300 },
  'mx.example.test': { A: ['127.0.0.1', '127.0.0.2'], AAAA: ['::1'], ttl: 120 },
  '_25._tcp.mx.example.test': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: tlsaData }] },
  'signed.test': { MX: [{ preference: 0, exchange: 'mx.signed.test' }], ad: true, negativeTtl: 30 },
  'mx.signed.test': { A: ['127.0.0.9'], ad: true },
  'alias.signed.test': { CNAME: 'mx.signed.test', ad: true, ttl: 20 },
  'alias.test': { CNAME: 'mx.signed.test', ttl: 20 },
  'dangling.test': { CNAME: 'gone.test' },
  'failing.test': { A: ['127.0.0.3'], MX: 'SERVFAIL', TXT: 'NXDOMAIN', negativeTtl: 45 },
  'v6-failing.test': { AAAA: 'SERVFAIL' },
  'big.test': { TLSA: [{ usage: 3, selector: 0, matchingType: 0, data: Buffer.alloc(1500, 7) }], truncate: true },
  'forged-id.test': { A: ['127.0.0.4'], forgeFirst: 'id' },
  'forged-question.test': { A: ['127.0.0.5'], forgeFirst: 'question' },
  'silent.test': 'NO-REPLY',
  'garbled.test': { A: ['127.0.0.6'], malformed: true },
  ...chain('c', 8, 'mx.signed.test'),
  ...chain('d', 9, 'mx.signed.test'),
};

/** `prefix0.test` → `prefix1.test` → … → target: `length` CNAMEs. */
function chain(prefix: string, length: number, target: string): Record<string, { CNAME: string }> {
  const names = Array.from({ length }, (_, index) => `${prefix}${index}.test`);
  return Object.fromEntries(names.map((name, index) => [name, { CNAME: names[index + 1] ?? target }]));
}

const server = await startDnsServer(TABLE);
t.teardown(() => server.close());

const at = (dns: TestDnsServer): HostPort => ({ host: '127.0.0.1', port: dns.port });

function client(options: Partial<DnsClientOptions> = {}) {
  const query = createDnsQuery({ servers: [at(server)], dnssec: false, timeout: 5_000, tries: 2, ...options });
  return { query, lookups: createDnsLookups(query) };
}

const countOf = (dns: TestDnsServer, name: string, type?: string): number =>
  dns.queries.filter((query) => query.name === name && (type === undefined || query.type === type)).length;

t.test('MX, addresses (IPv4 first), TXT and TLSA, with their TTLs', async (t) => {
  const { lookups } = client();
  t.same(await lookups.mx('Example.Test.'), { kind: 'found', records: [{ exchange: 'mx.example.test', priority: 10 }], name: 'example.test', secure: false, ttl: 300 });
  t.same(await lookups.addresses('mx.example.test'), { kind: 'found', records: ['127.0.0.1', '127.0.0.2', '::1'], name: 'mx.example.test', secure: false, ttl: 120 });
  t.same(await lookups.txt('example.test'), { kind: 'found', records: ['v=STSv1; id=20261201;', 'other'], name: 'example.test', secure: false, ttl: 300 }, 'character-strings joined per record');
  const tlsa = await lookups.tlsa('_25._tcp.mx.example.test');
  t.match(tlsa, { kind: 'found', records: [{ usage: 3, selector: 1, matchingType: 1 }], ttl: 60 });
  t.ok(tlsa.kind === 'found' && tlsa.records[0]?.data.equals(tlsaData), 'the association data byte for byte');
});

t.test('the DO bit is asked for only with dns.dnssec', async (t) => {
  await client({ dnssec: false }).lookups.mx('example.test');
  t.equal(server.queries.at(-1)?.dnssecOk, false);
  await client({ dnssec: true }).lookups.mx('example.test');
  t.equal(server.queries.at(-1)?.dnssecOk, true);
});

t.test('secure = the AD bit and dns.dnssec: true', async (t) => {
  const trusting = client({ dnssec: true }).lookups;
  const ignoring = client({ dnssec: false }).lookups;
  t.match(await trusting.mx('signed.test'), { kind: 'found', secure: true });
  t.match(await ignoring.mx('signed.test'), { kind: 'found', secure: false }, 'an AD bit the operator did not say to trust counts for nothing');
  t.match(await trusting.mx('example.test'), { kind: 'found', secure: false }, 'no AD bit');
  t.same(await trusting.tlsa('signed.test'), { kind: 'nodata', secure: true, ttl: 30 }, 'a denial can be secure, its TTL from the SOA');
  t.match(await trusting.addresses('mx.signed.test'), { kind: 'found', secure: true });
});

t.test('CNAMEs are followed to the name that has the records', async (t) => {
  const { lookups } = client({ dnssec: true });
  t.same(await lookups.addresses('alias.signed.test'), { kind: 'found', records: ['127.0.0.9'], name: 'mx.signed.test', secure: true, ttl: 20 }, 'the final name; the smallest TTL of the chain');
  t.match(await lookups.addresses('alias.test'), { kind: 'found', name: 'mx.signed.test', secure: false }, 'an insecure alias makes the answer insecure');
  t.match(await lookups.addresses('dangling.test'), { kind: 'nxdomain' }, 'a CNAME to a name that does not exist');
  t.match(await lookups.addresses('c0.test'), { kind: 'found', name: 'mx.signed.test' }, 'eight CNAMEs');
  t.match(await lookups.addresses('d0.test'), { kind: 'temporary', error: /more than 8 CNAMEs from d0\.test/ }, 'nine: taken for a loop');
});

t.test('a truncated UDP answer is asked again over TCP', async (t) => {
  const { lookups } = client();
  const tlsa = await lookups.tlsa('big.test');
  t.ok(tlsa.kind === 'found' && tlsa.records[0]?.data.equals(Buffer.alloc(1500, 7)), 'the full record, longer than a UDP answer here may be');
  t.same(server.queries.filter((query) => query.name === 'big.test').map((query) => query.transport), ['udp', 'tcp']);
});

t.test('per type: SERVFAIL is temporary and not asked again of the same server, NXDOMAIN permanent', async (t) => {
  const { lookups } = client();
  const before = countOf(server, 'failing.test', 'MX');
  t.same(await lookups.mx('failing.test'), { kind: 'temporary', error: `127.0.0.1:${server.port} answered SERVFAIL` });
  t.equal(countOf(server, 'failing.test', 'MX') - before, 1, 'one question: a server that answered SERVFAIL is not asked twice');
  t.same(await lookups.txt('failing.test'), { kind: 'nxdomain', secure: false, ttl: 45 });
  t.same(await lookups.mx('nowhere.test'), { kind: 'nxdomain', secure: false, ttl: 60 }, 'no SOA: a short default negative TTL');
  t.match(await lookups.addresses('failing.test'), { kind: 'found', records: ['127.0.0.3'] });
  t.match(await lookups.addresses('v6-failing.test'), { kind: 'temporary', error: /answered SERVFAIL/ }, 'no A, and AAAA failed: not a denial');
});

t.test('replies with another ID or for another question are ignored', async (t) => {
  const { lookups } = client();
  t.match(await lookups.addresses('forged-id.test'), { kind: 'found', records: ['127.0.0.4'] });
  t.match(await lookups.addresses('forged-question.test'), { kind: 'found', records: ['127.0.0.5'] });
  t.notMatch(JSON.stringify(await lookups.addresses('forged-id.test')), FORGED_ADDRESS);
});

t.test('a reply with our ID that cannot be decoded: temporary, and that server is not asked again', async (t) => {
  const { lookups } = client();
  const before = countOf(server, 'garbled.test', 'A');
  t.match(await lookups.addresses('garbled.test'), { kind: 'temporary', error: new RegExp(`^127\\.0\\.0\\.1:${server.port} answered malformed reply: `) });
  t.equal(countOf(server, 'garbled.test', 'A') - before, 1, 'asked once, though two rounds were allowed');
});

t.test('a name that is not a DNS name is not asked', async (t) => {
  const { lookups } = client();
  t.match(await lookups.mx('bad..name'), { kind: 'temporary', error: 'not a DNS name: "bad..name"' });
  t.match(await lookups.mx(`${'a'.repeat(64)}.test`), { kind: 'temporary' });
  t.notOk(server.queries.some((query) => query.name.includes('bad')));
});

t.test('servers in turn: a silent one is asked again in the next round, the next one answers', async (t) => {
  const silent = await startDnsServer({ 'example.test': 'NO-REPLY' });
  const failing = await startDnsServer({ 'example.test': 'SERVFAIL' });
  t.teardown(() => Promise.all([silent.close(), failing.close()]));

  const fallback = client({ servers: [at(silent), at(failing), at(server)], timeout: 2_000 });
  t.match(await fallback.lookups.mx('example.test'), { kind: 'found', records: [{ exchange: 'mx.example.test' }] });
  t.same([countOf(silent, 'example.test'), countOf(failing, 'example.test')], [1, 1], 'each asked once before the third answered');

  const nobody = client({ servers: [at(silent), at(failing)], timeout: 300, tries: 3 });
  const result = await nobody.lookups.mx('example.test');
  t.same(result, { kind: 'temporary', error: `no reply from 127.0.0.1:${silent.port} within 0.3 s` }, 'the last error');
  t.same([countOf(silent, 'example.test'), countOf(failing, 'example.test')], [4, 2], 'the silent one asked in every round (3 more), the failing one once');
});

t.test('a port where no server listens: refused at once, the next server answers', async (t) => {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', () => resolve()));
  const closed = { host: '127.0.0.1', port: probe.address().port };
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  t.match(await client({ servers: [closed, at(server)] }).lookups.mx('example.test'), { kind: 'found' });
  t.same(await client({ servers: [closed], tries: 1 }).lookups.mx('example.test'), { kind: 'temporary', error: `127.0.0.1:${closed.port}: ECONNREFUSED` });
});
