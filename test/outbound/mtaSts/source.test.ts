// MtaStsSource against real DNS and HTTPS on loopback: the cache rules of RFC 8461 §3.3
// and §5.1, the durable cache shared by sources on one folder (a restart, a second
// relay), and one fetch for a burst of lookups.
import t from 'tap';
import { mkdtemp, mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createLogger } from '../../../src/log.js';
import { createDnsQuery } from '../../../src/outbound/dns/client.js';
import { createDnsLookups } from '../../../src/outbound/resolver.js';
import { LEFTOVER_GRACE_MS } from '../../../src/queue/spoolRecovery.js';
import { FAILED_FETCH_HOLD_MS, MtaStsSource, mtaStsCacheDir, REFRESH_AFTER_MS } from '../../../src/outbound/mtaSts/source.js';
import type { MtaStsState } from '../../../src/policy/mtaSts.js';
import { startDnsServer, type TestDnsServer } from '../../helpers/dnsServer.js';
import { makeCa, makeCert, type KeyPair } from '../../helpers/pki.js';
import { startPolicyHost, type PolicyHost } from '../../helpers/policyHost.js';

const SECOND = 1_000;
const policyText = (mode: string, maxAge = 86_400, mx = 'mx.example.test'): string => `version: STSv1\nmode: ${mode}\nmx: ${mx}\nmax_age: ${maxAge}\n`;
const ENFORCE = policyText('enforce');

let dns: TestDnsServer;
let ca: KeyPair;
const hosts: PolicyHost[] = [];
const dirs: string[] = [];
let domains = 0;

interface Scenario {
  domain: string;
  host: PolicyHost;
  cacheDir: string;
  /** The clock every source of the scenario reads; tests move it. */
  clock: { now: number };
  log: Array<Record<string, unknown>>;
  /** A source on the scenario's cache folder: a second call is a restart, or a second relay. With `realClock`, it reads the time of day rather than `clock`. */
  source(options?: { realClock?: boolean }): MtaStsSource;
  setId(id: string | undefined): void;
}

/** A fresh domain with a policy host serving `policy` under TXT id `id`, and an empty cache folder. */
async function scenario(policy = ENFORCE, id = 'one'): Promise<Scenario> {
  const domain = `d${++domains}.example.test`;
  const host = await startPolicyHost({ cert: await makeCert({ names: [`mta-sts.${domain}`], ca }), policy });
  hosts.push(host);
  dns.set(`mta-sts.${domain}`, { A: [host.address] });
  const spool = await mkdtemp(join(tmpdir(), 'tlsrelay-mtasts-'));
  dirs.push(spool);
  const clock = { now: Date.now() };
  const log: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => void log.push(JSON.parse(line) as Record<string, unknown>) });
  // uncached, so that what a test changes in the DNS counts at once (dnsLookupsFor caches by TTL)
  const lookups = createDnsLookups(createDnsQuery({ servers: [{ host: '127.0.0.1', port: dns.port }], dnssec: false, timeout: 2_000, tries: 1 }));
  const setId = (next: string | undefined): void => dns.set(`_mta-sts.${domain}`, next === undefined ? undefined : { TXT: ['v=spf1 -all', `v=STSv1; id=${next}`] });
  setId(id);
  return {
    domain,
    host,
    cacheDir: mtaStsCacheDir(spool),
    clock,
    log,
    source: ({ realClock = false } = {}) =>
      new MtaStsSource({
        cacheDir: mtaStsCacheDir(spool),
        logger,
        environment: () => ({ lookups, trust: { ca: [...rootCertificates, ca.cert], crl: [] } }),
        ...(realClock ? {} : { now: () => new Date(clock.now) }),
      }),
    setId,
  };
}

function policyOf(state: MtaStsState) {
  if (state.kind !== 'policy') throw new Error(`expected a policy, got ${JSON.stringify(state)}`);
  return state;
}

const messages = (log: Array<Record<string, unknown>>): unknown[] => log.map((line) => line.msg);

t.before(async () => {
  dns = await startDnsServer({});
  ca = await makeCa('MTA-STS source test CA');
});
t.teardown(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await dns.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

t.test('a policy is fetched once, then used from the cache while the id is the same', async (t) => {
  const s = await scenario();
  const source = s.source();
  const first = policyOf(await source.policyFor(s.domain));
  t.same(first.policy, { mode: 'enforce', mx: ['mx.example.test'], maxAge: 86_400 });
  t.equal(first.origin, 'fetched');
  t.equal(first.id, 'one');
  t.equal(first.text, ENFORCE);
  t.equal(first.expiresAt.getTime(), s.clock.now + 86_400 * SECOND);
  s.clock.now += 3_600 * SECOND;
  const second = policyOf(await source.policyFor(s.domain.toUpperCase() + '.'));
  t.equal(second.origin, 'cache', 'the same domain in another spelling');
  t.same(second.fetchedAt, first.fetchedAt);
  t.equal(s.host.requests.length, 1, 'one GET');
  t.match(s.log, [{ msg: 'MTA-STS policy fetched', domain: s.domain, id: 'one', mode: 'enforce', mx: ['mx.example.test'], maxAge: 86_400 }]);
  const file = JSON.parse(await readFile(join(s.cacheDir, `${s.domain}.json`), 'utf8')) as Record<string, unknown>;
  t.same(file, { format: 1, domain: s.domain, id: 'one', fetchedAt: first.fetchedAt.toISOString(), text: ENFORCE }, 'the durable cache file');
  t.same((await readdir(s.cacheDir)).sort(), [`${s.domain}.json`], 'no temporary file left behind');
});

t.test('1,000 concurrent lookups of one domain make one TXT query and one fetch', async (t) => {
  const s = await scenario();
  const txtQueries = (): number => dns.queries.filter((query) => query.type === 'TXT' && query.name === `_mta-sts.${s.domain}`).length;
  const source = s.source({ realClock: true });
  const states = await Promise.all(Array.from({ length: 1_000 }, () => source.policyFor(s.domain)));
  t.equal(s.host.requests.length, 1, 'one GET for 1,000 lookups');
  t.equal(txtQueries(), 1, 'one TXT question');
  t.ok(states.every((state) => state === states[0]), 'every caller got the one answer');
  t.equal(policyOf(states[0]!).origin, 'fetched');
});

t.test('a changed id fetches the new policy', async (t) => {
  const s = await scenario();
  const source = s.source();
  await source.policyFor(s.domain);
  s.host.policy = policyText('testing', 3_600, '*.example.test');
  s.setId('two');
  const state = policyOf(await source.policyFor(s.domain));
  t.same({ origin: state.origin, id: state.id, policy: state.policy }, { origin: 'fetched', id: 'two', policy: { mode: 'testing', mx: ['*.example.test'], maxAge: 3_600 } });
  t.equal(s.host.requests.length, 2);
  t.match(s.log.at(-1), { msg: 'MTA-STS policy fetched', id: 'two', mode: 'testing', previousId: 'one', previousMode: 'enforce' });
});

t.test('a fetched mode none replaces a cached enforce at once, in memory and on disk', async (t) => {
  const s = await scenario();
  const source = s.source();
  t.equal(policyOf(await source.policyFor(s.domain)).policy.mode, 'enforce');
  s.host.policy = 'version: STSv1\nmode: none\nmax_age: 86400\n';
  s.setId('gone');
  t.same(policyOf(await source.policyFor(s.domain)).policy, { mode: 'none', mx: [], maxAge: 86_400 });
  t.same(policyOf(await s.source().policyFor(s.domain)).policy.mode, 'none', 'a restarted source reads mode none from the file');
  t.equal(s.host.requests.length, 2);
});

t.test('a TXT record that is gone, broken or not answered keeps the unexpired cached policy', async (t) => {
  const s = await scenario();
  const source = s.source();
  await source.policyFor(s.domain);
  const entries: Array<[string, Parameters<TestDnsServer['set']>[1]]> = [
    ['NXDOMAIN', undefined],
    ['NODATA', { A: ['192.0.2.1'] }],
    ['SERVFAIL', 'SERVFAIL'],
    ['a TXT SERVFAIL', { TXT: 'SERVFAIL' }],
    ['two v=STSv1 records', { TXT: ['v=STSv1; id=one', 'v=STSv1; id=two'] }],
    ['a record without id', { TXT: ['v=STSv1;'] }],
  ];
  for (const [what, entry] of entries) {
    dns.set(`_mta-sts.${s.domain}`, entry);
    const state = policyOf(await source.policyFor(s.domain));
    t.same({ origin: state.origin, id: state.id, mode: state.policy.mode }, { origin: 'cache', id: 'one', mode: 'enforce' }, what);
    t.same(policyOf(await s.source().policyFor(s.domain)).id, 'one', `${what}: also after a restart`);
  }
  t.equal(s.host.requests.length, 1, 'no fetch without a record');

  s.clock.now += 86_400 * SECOND;
  dns.set(`_mta-sts.${s.domain}`, undefined);
  t.same(await source.policyFor(s.domain), { kind: 'none', reason: `_mta-sts.${s.domain} does not exist (NXDOMAIN)` }, 'once expired, the policy is gone');
});

t.test('no record, no cached policy: none, and why', async (t) => {
  const s = await scenario();
  const source = s.source();
  const cases: Array<[Parameters<TestDnsServer['set']>[1], string]> = [
    [undefined, `_mta-sts.${s.domain} does not exist (NXDOMAIN)`],
    [{}, `_mta-sts.${s.domain} has no TXT record`],
    [{ TXT: ['v=spf1 -all'] }, `_mta-sts.${s.domain}: no TXT record begins with v=STSv1`],
  ];
  for (const [entry, reason] of cases) {
    dns.set(`_mta-sts.${s.domain}`, entry);
    t.same(await source.policyFor(s.domain), { kind: 'none', reason });
  }
  dns.set(`_mta-sts.${s.domain}`, { TXT: 'SERVFAIL' });
  t.match(await source.policyFor(s.domain), { kind: 'none', reason: new RegExp(`^the TXT lookup of _mta-sts\\.${s.domain.replace(/\./g, '\\.')} failed: `) });
  t.same(await source.policyFor('not a domain'), { kind: 'none', reason: '"not a domain" is not a domain name' });
  t.equal(s.host.requests.length, 0);
  t.same(s.log, [], 'nothing worth a log line');
});

t.test('a record but no policy, nothing cached: unavailable with the RFC 8460 result type', async (t) => {
  const s = await scenario('version: STSv1\nmode: enforce\nmax_age: 86400\n');
  const state = await s.source().policyFor(s.domain);
  t.same(state, {
    kind: 'unavailable',
    failure: { resultType: 'sts-policy-invalid', reason: `the policy from mta-sts.${s.domain} is invalid: no mx field (only mode none may leave it out)` },
  });
  t.match(s.log, [{ level: 40, msg: /^MTA-STS policy fetch failed; mail to the domain goes as without a policy/, domain: s.domain, id: 'one', resultType: 'sts-policy-invalid' }]);

  const wrongName = await scenario();
  dns.set(`mta-sts.${wrongName.domain}`, { A: [s.host.address] });
  t.match(await wrongName.source().policyFor(wrongName.domain), { kind: 'unavailable', failure: { resultType: 'sts-webpki-invalid' } });

  const down = await scenario();
  await down.host.stop();
  t.match(await down.source().policyFor(down.domain), { kind: 'unavailable', failure: { resultType: 'sts-policy-fetch-error', reason: /ECONNREFUSED/ } });
});

t.test('after a restart the cached policy is applied while the policy host is down', async (t) => {
  const s = await scenario();
  const fetched = policyOf(await s.source().policyFor(s.domain));
  await s.host.stop();

  const restarted = policyOf(await s.source().policyFor(s.domain));
  t.same({ origin: restarted.origin, id: restarted.id, policy: restarted.policy, fetchedAt: restarted.fetchedAt }, { origin: 'cache', id: 'one', policy: fetched.policy, fetchedAt: fetched.fetchedAt });
  t.notOk(restarted.refreshFailure, 'nothing was due: no fetch tried');

  // a new id while the host is down: the fetch fails, the unexpired policy stays
  s.setId('two');
  const source = s.source();
  const kept = policyOf(await source.policyFor(s.domain));
  t.same({ origin: kept.origin, id: kept.id, mode: kept.policy.mode }, { origin: 'cache', id: 'one', mode: 'enforce' });
  t.match(kept.refreshFailure, { resultType: 'sts-policy-fetch-error', reason: /ECONNREFUSED/ });
  t.match(s.log.at(-1), { level: 40, msg: 'MTA-STS policy fetch failed; the cached policy stays in force until it expires', id: 'two', cachedId: 'one', cachedMode: 'enforce', cachedUntil: fetched.expiresAt.toISOString() });
});

t.test('an expired policy is not applied: fetched again, or none to apply when that fails', async (t) => {
  const s = await scenario(policyText('enforce', 600));
  const source = s.source();
  await source.policyFor(s.domain);
  s.clock.now += 599 * SECOND;
  t.equal(policyOf(await source.policyFor(s.domain)).origin, 'cache', 'a second before expiry');
  s.clock.now += SECOND;
  const refetched = policyOf(await source.policyFor(s.domain));
  t.equal(refetched.origin, 'fetched', 'at expiry, with the same id');
  t.equal(refetched.expiresAt.getTime(), s.clock.now + 600 * SECOND);
  t.equal(s.host.requests.length, 2);

  s.clock.now += 600 * SECOND;
  await s.host.stop();
  t.match(await source.policyFor(s.domain), { kind: 'unavailable', failure: { resultType: 'sts-policy-fetch-error' } }, 'expired and the host down');
  t.match(await s.source().policyFor(s.domain), { kind: 'unavailable' }, 'a restart does not bring the expired file back');
});

t.test('a failed fetch is not tried again for the same id for five minutes', async (t) => {
  const s = await scenario();
  s.host.respond = (_req, res) => res.writeHead(500).end();
  const source = s.source();
  t.match(await source.policyFor(s.domain), { kind: 'unavailable', failure: { reason: `mta-sts.${s.domain} answered 500 Internal Server Error` } });
  s.host.respond = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(ENFORCE);
  s.clock.now += FAILED_FETCH_HOLD_MS - SECOND;
  t.match(await source.policyFor(s.domain), { kind: 'unavailable', failure: { reason: /answered 500/ } }, 'the failure is remembered');
  t.equal(s.host.requests.length, 1);
  t.equal(s.log.length, 1, 'and logged once');
  s.clock.now += SECOND;
  t.equal(policyOf(await source.policyFor(s.domain)).origin, 'fetched', 'five minutes on');
  t.equal(s.host.requests.length, 2);

  const other = await scenario();
  other.host.respond = (_req, res) => res.writeHead(500).end();
  const held = other.source();
  await held.policyFor(other.domain);
  other.host.respond = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(ENFORCE);
  other.setId('two');
  t.equal(policyOf(await held.policyFor(other.domain)).id, 'two', 'a new id is fetched at once');
});

t.test('a cached policy is refreshed once a day; a failed refresh keeps it and says so', async (t) => {
  const s = await scenario(policyText('enforce', 7 * 86_400));
  const source = s.source();
  const first = policyOf(await source.policyFor(s.domain));
  s.clock.now += REFRESH_AFTER_MS - SECOND;
  t.equal(policyOf(await source.policyFor(s.domain)).origin, 'cache');
  s.clock.now += SECOND;
  s.host.policy = policyText('enforce', 7 * 86_400, 'mx2.example.test');
  const refreshed = policyOf(await source.policyFor(s.domain));
  t.same({ origin: refreshed.origin, id: refreshed.id, mx: refreshed.policy.mx }, { origin: 'fetched', id: 'one', mx: ['mx2.example.test'] });
  t.ok(refreshed.expiresAt > first.expiresAt, 'the refresh moves the expiry on');

  s.clock.now += REFRESH_AFTER_MS;
  await s.host.stop();
  const kept = policyOf(await source.policyFor(s.domain));
  t.same({ origin: kept.origin, mx: kept.policy.mx, fetchedAt: kept.fetchedAt }, { origin: 'cache', mx: ['mx2.example.test'], fetchedAt: refreshed.fetchedAt });
  t.match(kept.refreshFailure, { resultType: 'sts-policy-fetch-error' });
  t.match(s.log.at(-1), { level: 40, msg: 'MTA-STS policy fetch failed; the cached policy stays in force until it expires' });
});

t.test('a failed refresh of a mode none policy is only information', async (t) => {
  const s = await scenario('version: STSv1\nmode: none\nmax_age: 86400\n');
  const source = s.source();
  await source.policyFor(s.domain);
  await s.host.stop();
  s.setId('two');
  t.equal(policyOf(await source.policyFor(s.domain)).policy.mode, 'none');
  t.match(s.log.at(-1), { level: 30, msg: 'MTA-STS policy fetch failed; the cached policy stays in force until it expires', cachedMode: 'none' });
});

t.test('two sources on one cache folder share what either fetched', async (t) => {
  const s = await scenario();
  const a = s.source();
  const b = s.source();
  await a.policyFor(s.domain);
  t.equal(policyOf(await b.policyFor(s.domain)).origin, 'cache', 'b reads what a fetched');
  t.equal(s.host.requests.length, 1);

  s.host.policy = policyText('testing');
  s.setId('two');
  t.equal(policyOf(await a.policyFor(s.domain)).policy.mode, 'testing');
  const seen = policyOf(await b.policyFor(s.domain));
  t.same({ origin: seen.origin, id: seen.id, mode: seen.policy.mode }, { origin: 'cache', id: 'two', mode: 'testing' }, 'b, which knew id one, reads id two from the file');
  t.equal(s.host.requests.length, 2, 'b made no fetch of its own');
});

t.test('a damaged cache file is ignored with one warning, and replaced by the next fetch', async (t) => {
  const s = await scenario();
  await mkdir(s.cacheDir, { recursive: true });
  const file = join(s.cacheDir, `${s.domain}.json`);
  const damaged: Array<[string, RegExp]> = [
    ['{"format":1,', /^not JSON: /],
    ['[]', /^format is undefined, not 1$/],
    ['null', /^not a JSON object$/],
    [JSON.stringify({ format: 2 }), /^format is 2, not 1$/],
    [JSON.stringify({ format: 1, domain: 'other.test' }), /^it is for "other.test"/],
    [JSON.stringify({ format: 1, domain: s.domain, id: 'not-an-id' }), /^no valid id$/],
    [JSON.stringify({ format: 1, domain: s.domain, id: 'one', fetchedAt: 'yesterday' }), /^no valid fetchedAt$/],
    [JSON.stringify({ format: 1, domain: s.domain, id: 'one', fetchedAt: 1 }), /^no valid fetchedAt$/],
    [JSON.stringify({ format: 1, domain: s.domain, id: 'one', fetchedAt: new Date().toISOString() }), /^no policy text$/],
    [JSON.stringify({ format: 1, domain: s.domain, id: 'one', fetchedAt: new Date().toISOString(), text: 'mode: enforce' }), /^its policy is invalid: no version field/],
  ];
  s.setId(undefined);
  for (const [content, reason] of damaged) {
    await writeFile(file, content);
    const before = s.log.length;
    t.same(await s.source().policyFor(s.domain), { kind: 'none', reason: `_mta-sts.${s.domain} does not exist (NXDOMAIN)` }, content);
    t.match(s.log.slice(before), [{ level: 40, msg: 'damaged MTA-STS cache file ignored; the policy is fetched again', domain: s.domain, file, reason }], content);
  }
  const source = s.source();
  await source.policyFor(s.domain);
  await source.policyFor(s.domain);
  t.equal(s.log.filter((line) => line.msg === 'damaged MTA-STS cache file ignored; the policy is fetched again').length, damaged.length + 1, 'one warning per source and file');

  s.setId('one');
  t.equal(policyOf(await source.policyFor(s.domain)).origin, 'fetched');
  t.equal(policyOf(await s.source().policyFor(s.domain)).origin, 'cache', 'the file is whole again');
});

t.test('a cache that cannot be read or written costs a fetch, never the policy', async (t) => {
  const unreadable = await scenario();
  await mkdir(join(unreadable.cacheDir, `${unreadable.domain}.json`), { recursive: true });
  const source = unreadable.source();
  t.equal(policyOf(await source.policyFor(unreadable.domain)).origin, 'fetched');
  t.same(messages(unreadable.log), ['cannot read the MTA-STS cache file; the policy is fetched again', 'cannot write the MTA-STS cache file; the policy is kept in memory only', 'MTA-STS policy fetched']);
  t.equal(policyOf(await source.policyFor(unreadable.domain)).origin, 'cache', 'kept in memory');

  const unwritable = await scenario();
  await mkdir(join(unwritable.cacheDir, '..'), { recursive: true });
  await writeFile(unwritable.cacheDir, 'a file where the folder should be');
  const second = unwritable.source();
  t.equal(policyOf(await second.policyFor(unwritable.domain)).origin, 'fetched');
  t.match(unwritable.log, [{ level: 40, msg: 'cannot read the MTA-STS cache file; the policy is fetched again', err: /ENOTDIR/ }, { level: 40, msg: 'cannot write the MTA-STS cache file; the policy is kept in memory only' }, { msg: 'MTA-STS policy fetched' }]);
  t.equal(policyOf(await second.policyFor(unwritable.domain)).origin, 'cache');
});

t.test('temporary files a crash left in the cache folder are removed at the first write; younger ones are left to their writer', async (t) => {
  const s = await scenario();
  await mkdir(s.cacheDir, { recursive: true });
  const old = new Date(Date.now() - LEFTOVER_GRACE_MS - 60_000);
  const leftover = join(s.cacheDir, `.${s.domain}.4242.0a1b2c.tmp`);
  const stuck = join(s.cacheDir, '.other.test.4242.0a1b2d.tmp');
  const young = join(s.cacheDir, '.other.test.4243.0a1b2e.tmp');
  const notOurs = join(s.cacheDir, 'notes.tmp');
  await writeFile(leftover, '{"format":1,');
  await mkdir(stuck);
  await writeFile(young, '{');
  await writeFile(notOurs, 'an operator left this here');
  for (const file of [leftover, stuck, notOurs]) await utimes(file, old, old);
  const source = s.source({ realClock: true });
  await source.policyFor(s.domain);
  t.same((await readdir(s.cacheDir)).sort(), [basename(stuck), basename(young), `${s.domain}.json`, 'notes.tmp'].sort());
  t.match(s.log, [{ msg: 'MTA-STS cache leftover removed', file: leftover }, { level: 40, msg: 'MTA-STS cache leftover cannot be removed', file: stuck }, { msg: 'MTA-STS policy fetched' }]);
});
