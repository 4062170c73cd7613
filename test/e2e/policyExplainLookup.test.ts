// `tlsrelay policy explain DOMAIN --lookup` through the built binary, against a DNS server
// in the test (TLSA with the AD bit on or off, SERVFAIL) and MTA-STS policy hosts on
// loopback port 443 with certificates of a test CA the config's tls.trust names. The
// spool's MTA-STS cache is filled, where a test needs it, by the relay's own MtaStsSource.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import t from 'tap';
import { createLogger } from '../../src/log.js';
import type { MtaStsState } from '../../src/policy/mtaSts.js';
import { MtaStsSource, mtaStsCacheDir } from '../../src/outbound/mtaSts/source.js';
import { dnsLookupsFor } from '../../src/outbound/resolver.js';
import type { TlsaRecord } from '../../src/tls/dane.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { makeCa, makeCert, type KeyPair } from '../helpers/pki.js';
import { startPolicyHost, type PolicyHost } from '../helpers/policyHost.js';
import { PROJECT_ROOT, runCli, writeConfig } from '../helpers/relayProcess.js';
import { testConfig } from '../helpers/testConfig.js';

const dns = await startDnsServer({});
const webCa = await makeCa('test WebPKI CA');
const hosts: PolicyHost[] = [];
t.teardown(async () => {
  for (const host of hosts) await host.stop();
  await dns.close();
});

let counter = 0;
/** A domain no other test uses. */
const freshDomain = (label: string): string => `${label}${++counter}.test`;

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const daneEe = (pair: KeyPair): TlsaRecord => ({ usage: 3, selector: 1, matchingType: 1, data: sha256(new X509Certificate(pair.cert).publicKey.export({ type: 'spki', format: 'der' })) });
const pkixEe = (pair: KeyPair): TlsaRecord => ({ usage: 1, selector: 0, matchingType: 1, data: sha256(new X509Certificate(pair.cert).raw) });
const present = (record: TlsaRecord): string => `${record.usage} ${record.selector} ${record.matchingType} ${record.data.toString('hex')}`;
const abbreviated = (record: TlsaRecord): string => `${record.usage} ${record.selector} ${record.matchingType} ${record.data.subarray(0, 8).toString('hex')}…`;
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const policyOf = (mode: string, mx: string[]): string => `version: STSv1\nmode: ${mode}\n${mx.map((pattern) => `mx: ${pattern}\n`).join('')}max_age: 86400\n`;

async function policyHost(domain: string, policy: string): Promise<PolicyHost> {
  const host = await startPolicyHost({ cert: await makeCert({ names: [`mta-sts.${domain}`], ca: webCa }), policy });
  hosts.push(host);
  dns.set(`mta-sts.${domain}`, { A: [host.address] });
  return host;
}

interface Zone {
  domain: string;
  mx: string[];
  ad?: boolean;
  stsId?: string;
}

function publish({ domain, mx, ad = true, stsId }: Zone): void {
  dns.set(domain, { MX: mx.map((exchange, index) => ({ preference: 10 * (index + 1), exchange })), ad });
  mx.forEach((host, index) => dns.set(host, { A: [`192.0.2.${index + 1}`], ad }));
  if (stsId !== undefined) dns.set(`_mta-sts.${domain}`, { TXT: [`v=STSv1; id=${stsId}`] });
}

/** A config in a folder of its own (its spool there too) with the test DNS and the test CA; `outbound` as YAML lines. */
function configFor(dir: string, outbound: string[] = [], dnssec = true): string {
  writeFileSync(join(dir, 'web-ca.pem'), webCa.cert);
  return writeConfig(
    dir,
    [`dns: { servers: ["127.0.0.1:${dns.port}"], dnssec: ${dnssec} }`, 'tls: { cert: relay.crt, key: relay.key, generateIfMissing: true, trust: [web-ca.pem] }', 'queue: { dir: spool }', ...(outbound.length > 0 ? ['outbound:', ...outbound] : []), ''].join('\n'),
  );
}

const daneConnector = (domain: string, level = 'dane'): string[] => ['  - name: published', `    domains: [${domain}]`, `    tls: ${level}`];

async function explain(domain: string, file: string, json = false) {
  const result = await runCli(['policy', 'explain', domain, '--lookup', ...(json ? ['--json'] : []), '-c', file]);
  return result;
}

/** The lines of one host's block in the text, from its heading to the next heading. */
function hostBlock(text: string, host: string): string {
  const start = text.indexOf(`\n  MX host ${host}:`);
  if (start < 0) throw new Error(`no block for ${host} in:\n${text}`);
  const next = text.indexOf('\n  MX host ', start + 1);
  return text.slice(start + 1, next < 0 ? undefined : next + 1);
}

t.test('a host with usable secure TLSA records: DANE decides; the records, the rule and every failure', async (t) => {
  const domain = freshDomain('dane');
  const mx = `mx.${domain}`;
  const ee = daneEe(await makeCert({ names: [mx] }));
  const pkix = pkixEe(await makeCert({ names: [mx] }));
  publish({ domain, mx: [mx] });
  dns.set(`_25._tcp.${mx}`, { TLSA: [ee, pkix], ad: true });
  const file = configFor(t.testdir(), daneConnector(domain));
  const { code, stdout, stderr } = await explain(domain, file);
  t.equal(code, 0, stderr);
  t.equal(stderr, '');
  t.match(stdout, /\n {2}route +MX of .* on port 25 \(looked up below\)\n/);
  t.match(stdout, new RegExp(`\\nlooked up \\(DNS servers 127\\.0\\.0\\.1:${dns.port}; dns\\.dnssec on: the AD bit counts\\)\\n`));
  t.match(stdout, new RegExp(`\\n {2}MX +10 ${escape(mx)} \\(DNSSEC-validated\\)\\n`));
  t.match(stdout, /\n {2}MTA-STS +no policy: _mta-sts\..* does not exist \(NXDOMAIN\)\n/);
  const block = hostBlock(stdout, mx);
  t.match(block, /^ {2}MX host mx\.dane\d+\.test:25 \(preference 10\)\n {4}addresses +192\.0\.2\.1\n/);
  t.match(block, new RegExp(`\\n {4}TLSA +_25\\._tcp\\.${escape(mx)}: DNSSEC-validated, 1 usable\\n +${escape(abbreviated(ee))}  usable\\n +${escape(abbreviated(pkix))}  unusable \\(`));
  t.match(block, new RegExp(`\\n {4}decided by +dane\\n {4}plan +connect: DANE: 1 usable TLSA record\\(s\\) at _25\\._tcp\\.${escape(mx)}; the certificate must match one\\n {4}rule +dane-only \\(DANE, 1 TLSA record\\(s\\)\\)\\n`));
  t.match(block, /\n {6}does not offer STARTTLS +defer: 450 4\.7\.4 TLS is required, but was not offered by host mx\./);
  t.match(block, /\n {6}presents a certificate that fails every check +defer: 450 4\.7\.5 Server certificate not verified for host mx\.dane\d+\.test: <reason>\n/, 'a certificate mismatch defers 4.7.5');
  t.match(block, new RegExp(`\\n {6}has a TLSA lookup that fails +defer before dialling: 450 4\\.7\\.5 TLSA lookup error: <error> for host ${escape(mx)}\\n`));
  t.ok(
    dns.queries.some((query) => query.name === `_25._tcp.${mx}` && query.type === 'TLSA' && query.dnssecOk),
    'the TLSA records were asked of dns.servers, with the DO bit',
  );

  // only records of a usage SMTP cannot use: TLS, not authenticated (RFC 7672 §2.2)
  const pkixOnly = freshDomain('dane');
  const pkixMx = `mx.${pkixOnly}`;
  publish({ domain: pkixOnly, mx: [pkixMx] });
  dns.set(`_25._tcp.${pkixMx}`, { TLSA: [pkix], ad: true });
  const unusable = hostBlock((await explain(pkixOnly, configFor(t.testdir(), daneConnector(pkixOnly)))).stdout, pkixMx);
  t.match(unusable, new RegExp(`\\n {4}TLSA +_25\\._tcp\\.${escape(pkixMx)}: DNSSEC-validated, none usable: TLS without authentication\\n +${escape(abbreviated(pkix))}  unusable`));
  t.match(unusable, new RegExp(`\\n {4}decided by +dane\\n {4}plan +connect: DANE: TLSA records at _25\\._tcp\\.${escape(pkixMx)}, none of a usage SMTP can use .*: TLS required, not authenticated\\n {4}rule +encrypt \\(DANE, 1 TLSA record\\(s\\)\\)\\n`));
  t.match(unusable, /\n {6}presents a certificate that fails every check +deliver over TLS \(logged untrusted\)\n/);
});

t.test('an MX answer without the AD bit: no DANE for its hosts, the connector level as opportunistic', async (t) => {
  const domain = freshDomain('insecure');
  const mx = `mx.${domain}`;
  publish({ domain, mx: [mx], ad: false });
  dns.set(`_25._tcp.${mx}`, { TLSA: [daneEe(await makeCert({ names: [mx] }))], ad: true });
  const { code, stdout, stderr } = await explain(domain, configFor(t.testdir(), daneConnector(domain)));
  t.equal(code, 0, stderr);
  t.match(stdout, new RegExp(`\\n {2}MX +10 ${escape(mx)} \\(not DNSSEC-validated\\)\\n`));
  t.match(stdout, new RegExp(`\\n {2}DANE +consulted, but no host can have it: the MX answer for ${escape(domain)} is not DNSSEC-validated\\n`));
  const block = hostBlock(stdout, mx);
  t.match(block, /\n {4}TLSA +no DANE: the MX answer for .* is not DNSSEC-validated\n/);
  t.match(block, /\n {4}decided by +none\n {4}plan +connect: no DANE \(the MX answer .* not DNSSEC-validated\); no MTA-STS policy \(.*\): the connector's level opportunistic\n {4}rule +opportunistic \(nothing published applies\)\n/);
  t.match(block, /\n {6}does not offer STARTTLS +deliver in plaintext\n/);
  t.notMatch(block, /TLSA lookup that fails/, 'no DANE to lose when a TLSA lookup fails');
});

t.test('SERVFAIL on TLSA: the host is deferred before dialling, and explain exits 0', async (t) => {
  const domain = freshDomain('servfail');
  const mx = `mx.${domain}`;
  publish({ domain, mx: [mx] });
  dns.set(`_25._tcp.${mx}`, 'SERVFAIL');
  const { code, stdout, stderr } = await explain(domain, configFor(t.testdir(), daneConnector(domain, 'dane-only')));
  t.equal(code, 0, stderr);
  const block = hostBlock(stdout, mx);
  t.match(block, new RegExp(`\\n {4}TLSA +_25\\._tcp\\.${escape(mx)}: lookup failed \\(127\\.0\\.0\\.1:${dns.port} answered SERVFAIL\\): the host is deferred before dialling\\n`));
  t.match(block, new RegExp(`\\n {4}decided by +dane\\n {4}plan +deferred before dialling: 450 4\\.7\\.5 TLSA lookup error: 127\\.0\\.0\\.1:${dns.port} answered SERVFAIL for host ${escape(mx)}\\n {4}why +the TLSA lookup of _25\\._tcp\\.${escape(mx)} failed .*: deferred, never downgraded\\n`));
  t.notMatch(block, /when the host/, 'a host never dialled has no session outcomes');
});

t.test('MTA-STS enforce: the MX outside the policy is not used; the policy is fetched now and not stored', async (t) => {
  const domain = freshDomain('enforce');
  const inside = `mx.${domain}`;
  const outside = 'backup.elsewhere.test';
  const host = await policyHost(domain, policyOf('enforce', [`*.${domain}`]));
  publish({ domain, mx: [outside, inside], ad: false, stsId: 'e1' });
  const dir = t.testdir();
  const { code, stdout, stderr } = await explain(domain, configFor(dir));
  t.equal(code, 0, stderr);
  t.equal(host.requests.length, 1, 'one fetch, over HTTPS from mta-sts.DOMAIN');
  t.equal(host.requests[0]?.servername, `mta-sts.${domain}`);
  const cacheDir = join(dir, 'spool', 'cache', 'mta-sts');
  t.match(stdout, new RegExp(`\\n {2}MTA-STS +policy fetched now over HTTPS, and not stored: the cache \\(${escape(cacheDir)}\\) belongs to the running relay\\n`));
  t.notOk(existsSync(cacheDir), 'nothing written under the spool');
  t.match(stdout, /\n {2}mode +enforce\n {2}id +e1\n {2}max_age +86400 s\n {2}fetched +\S+Z\n {2}cached until +\S+Z \(a relay fetching it now keeps it until then\)\n/);
  t.match(stdout, new RegExp(`\\n {2}mx patterns +\\*\\.${escape(domain)}\\n {2}policy text +version: STSv1\\n +mode: enforce\\n +mx: \\*\\.${escape(domain)}\\n +max_age: 86400\\n`));
  t.match(stdout, /\n {2}DANE +not consulted: the connector's level opportunistic does not ask for DANE/);

  t.ok(stdout.indexOf(`MX host ${outside}`) < stdout.indexOf(`MX host ${inside}`), 'hosts in MX order');
  const skipped = hostBlock(stdout, outside);
  t.match(skipped, /\n {4}MTA-STS mx +matches none of the policy's mx patterns\n {4}decided by +mta-sts\n {4}plan +not used: MTA-STS enforce \(id e1\): backup\.elsewhere\.test matches none of /);
  t.notMatch(skipped, /when the host/);
  const used = hostBlock(stdout, inside);
  t.match(used, new RegExp(`\\n {4}MTA-STS mx +matches \\*\\.${escape(domain)}\\n {4}decided by +mta-sts\\n`));
  t.match(used, /\n {4}rule +verify \(MTA-STS enforce \(id e1\)\)\n/);
  t.match(used, new RegExp(`\\n {6}presents a certificate that fails every check +defer: 450 4\\.7\\.5 Server certificate not verified for host ${escape(inside)}: <reason>\\n`));
  t.match(used, /\n {6}does not offer STARTTLS +defer: 450 4\.7\.4 /);

  // no MX the policy names: every message waits
  const lonely = freshDomain('enforce');
  await policyHost(lonely, policyOf('enforce', ['mx.nowhere.test']));
  publish({ domain: lonely, mx: [`mx.${lonely}`], ad: false, stsId: 'e2' });
  const none = await explain(lonely, configFor(t.testdir()));
  t.match(none.stdout, new RegExp(`\\n {2}no usable MX +every message is deferred: 450 4\\.7\\.5 None of the MX hosts of ${escape(lonely)} matches its MTA-STS policy \\(mx\\.nowhere\\.test\\)\\n`));
});

t.test('MTA-STS testing: the connector level decides the session, and what enforce would refuse is shown', async (t) => {
  const domain = freshDomain('testing');
  const mx = `mx.${domain}`;
  await policyHost(domain, policyOf('testing', ['mx.other.test']));
  publish({ domain, mx: [mx], ad: false, stsId: 't1' });
  const { code, stdout, stderr } = await explain(domain, configFor(t.testdir()));
  t.equal(code, 0, stderr);
  t.match(stdout, /\n {2}mode +testing\n {2}id +t1\n/);
  const block = hostBlock(stdout, mx);
  t.match(block, /\n {4}MTA-STS mx +matches none of the policy's mx patterns\n {4}decided by +mta-sts\n {4}plan +connect: MTA-STS testing \(id t1\): delivered as level opportunistic, .*which enforce would refuse\n/);
  t.match(block, /\n {4}rule +opportunistic \(nothing published applies\); MTA-STS testing \(id t1\) would demand verify\n/);
  t.match(block, /\n {6}presents a certificate that fails every check +deliver over TLS \(logged untrusted\); enforce would defer: 450 4\.7\.5 Server certificate not verified for host mx\.testing\d+\.test: <reason> \(logged and recorded\)\n/);
  t.match(block, /\n {6}does not offer STARTTLS +deliver in plaintext; enforce would defer: 450 4\.7\.4 /);
});

/** The running relay's part: its MTA-STS source fetches the domain's policy into the cache of the spool in `dir`. */
async function relayFetches(dir: string, domain: string): Promise<{ cacheDir: string; state: MtaStsState }> {
  const cacheDir = mtaStsCacheDir(join(dir, 'spool'));
  const relayConfig = testConfig({ dns: { servers: [{ host: '127.0.0.1', port: dns.port }] } });
  const source = new MtaStsSource({ cacheDir, logger: createLogger('silent'), environment: () => ({ lookups: dnsLookupsFor(relayConfig), trust: { ca: [...rootCertificates, webCa.cert], crl: [] } }) });
  return { cacheDir, state: await source.policyFor(domain) };
}

t.test("a policy in the spool's cache is read, never written, and shown as cached while its host is down", async (t) => {
  const domain = freshDomain('cached');
  const mx = `mx.${domain}`;
  const host = await policyHost(domain, policyOf('enforce', [mx]));
  publish({ domain, mx: [mx], ad: false, stsId: 'c1' });
  const dir = t.testdir();
  const file = configFor(dir);
  const { cacheDir, state: fetched } = await relayFetches(dir, domain);
  t.match(fetched, { kind: 'policy', origin: 'fetched', id: 'c1' });
  await host.stop();
  const cacheFile = join(cacheDir, `${domain}.json`);
  const before = { content: readFileSync(cacheFile, 'utf8'), mtime: statSync(cacheFile).mtimeMs, entries: readdirSync(cacheDir) };

  const { code, stdout, stderr } = await explain(domain, file);
  t.equal(code, 0, stderr);
  t.equal(stderr, '', 'no fetch was needed, so none failed');
  t.match(stdout, new RegExp(`\\n {2}MTA-STS +policy read from the relay's cache \\(${escape(cacheDir)}\\)\\n`));
  const cachedUntil = fetched.kind === 'policy' ? fetched.expiresAt.toISOString() : '';
  t.match(stdout, new RegExp(`\\n {2}cached until +${escape(cachedUntil)}\\n`), 'until max_age after the relay fetched it');
  t.match(hostBlock(stdout, mx), /\n {4}decided by +mta-sts\n {4}plan +connect: MTA-STS enforce \(id c1, mx mx\.cached\d+\.test\)/);
  t.same({ content: readFileSync(cacheFile, 'utf8'), mtime: statSync(cacheFile).mtimeMs, entries: readdirSync(cacheDir) }, before, 'the cache as the relay left it');

  const json = JSON.parse((await explain(domain, file, true)).stdout) as { lookup: { mtaSts: unknown } };
  t.match(json.lookup.mtaSts, { consulted: true, state: 'policy', origin: 'cache', mode: 'enforce', id: 'c1', maxAge: 86400, mx: [mx], cachedUntil, refreshFailure: null, cacheDir });

  // a damaged file is the relay's to replace: explain says so on stderr and fetches for itself
  writeFileSync(cacheFile, '{ not json');
  const revived = await policyHost(domain, policyOf('enforce', [mx]));
  const damaged = await explain(domain, file);
  t.equal(damaged.code, 0, damaged.stderr);
  t.match(damaged.stderr, /WARN.*damaged MTA-STS cache file ignored; the policy is fetched again/);
  t.match(damaged.stdout, /\n {2}MTA-STS +policy fetched now over HTTPS, and not stored/);
  t.equal(revived.requests.length, 1);
  t.equal(readFileSync(cacheFile, 'utf8'), '{ not json', 'and leaves it as it is');
});

t.test('a policy that cannot be fetched: none to apply, or the cached one while its refresh fails', async (t) => {
  const domain = freshDomain('unfetched');
  const mx = `mx.${domain}`;
  const host = await policyHost(domain, policyOf('enforce', [mx]));
  host.respond = (_req, res) => void res.writeHead(404).end();
  publish({ domain, mx: [mx], ad: false, stsId: 'u1' });
  const dir = t.testdir();
  const file = configFor(dir);
  const unavailable = await explain(domain, file);
  t.equal(unavailable.code, 0, unavailable.stderr);
  t.match(unavailable.stdout, /\n {2}MTA-STS +a v=STSv1 record, but no policy to be had \(sts-policy-fetch-error: mta-sts\.unfetched\d+\.test answered 404 Not Found\) and none cached: mail goes as without a policy\n/);
  t.match(unavailable.stderr, /WARN.*MTA-STS policy fetch failed/, "the source's own warning, on stderr");
  t.match(hostBlock(unavailable.stdout, mx), /\n {4}decided by +none\n {4}plan +connect: MTA-STS policy not available \(.*404 Not Found\): as without a policy, level opportunistic\n/);

  // the relay holds the policy of id u1; the domain now names u2, and its host fails
  host.respond = (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(policyOf('enforce', [mx]));
  await relayFetches(dir, domain);
  dns.set(`_mta-sts.${domain}`, { TXT: ['v=STSv1; id=u2'] });
  host.respond = (_req, res) => void res.writeHead(404).end();
  const refresh = await explain(domain, file);
  t.equal(refresh.code, 0, refresh.stderr);
  t.match(refresh.stdout, /\n {2}MTA-STS +policy read from the relay's cache \(/);
  t.match(refresh.stdout, /\n {2}id +u1\n/);
  t.match(refresh.stdout, /\n {2}refresh failed +mta-sts\.unfetched\d+\.test answered 404 Not Found \(sts-policy-fetch-error\): the cached policy stays in force until it expires\n/);
  t.match(hostBlock(refresh.stdout, mx), /\n {4}decided by +mta-sts\n {4}plan +connect: MTA-STS enforce \(id u1/);
});

t.test("README's --lookup example is what the command prints, but for the times, the key's hash, the DNS port and the spool", async (t) => {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const example = /^\$ tlsrelay policy explain (\S+) --lookup\n(?:.*\n)*?(looked up .*\n(?:(?!```).*\n)+)```/m.exec(readme);
  if (!example) throw new Error('no --lookup example in README.md');
  const [, domain = '', shown = ''] = example;
  const mx = `mx1.${domain}`;
  const host = await policyHost(domain, 'version: STSv1\nmode: enforce\nmx: *.woodgrove.test\nmax_age: 604800\n');
  dns.set(domain, { MX: [{ preference: 10, exchange: mx }], ad: true });
  dns.set(mx, { A: ['192.0.2.25'], ad: true });
  dns.set(`_25._tcp.${mx}`, { TLSA: [daneEe(await makeCert({ names: [mx] }))], ad: true });
  dns.set(`_mta-sts.${domain}`, { TXT: ['v=STSv1; id=20261201'] });
  const dir = t.testdir();
  const file = configFor(dir, ['  - name: published', '    domains: ["*"]', '    tls: dane']);
  const { cacheDir } = await relayFetches(dir, domain);
  await host.stop();
  const { code, stdout, stderr } = await explain(domain, file);
  t.equal(code, 0, stderr);
  const printed = stdout.slice(stdout.indexOf('\nlooked up (') + 1);
  const masked = (text: string): string => text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>').replace(/(3 1 1 )[0-9a-f]{16}…/, '$1<hash>…');
  const local = masked(printed).replace(`127.0.0.1:${dns.port}`, '127.0.0.1:53').replace(cacheDir, '/var/spool/tlsrelay/cache/mta-sts');
  t.equal(local, masked(shown));
  t.match(readme, /^ {2}connector +published\n {2}… +\(the connector's settings, as without --lookup\)\n/m);
  t.match(stdout, /^outbound mail for woodgrove\.test\n {2}connector +published\n/, 'the part the example leaves out begins as it says');
});

t.test('smart-host and none connectors: published policies are not consulted, or overridden, and say why', async (t) => {
  const domain = freshDomain('smart');
  await policyHost(domain, policyOf('enforce', [`*.${domain}`]));
  publish({ domain, mx: [`mx.${domain}`], stsId: 's1' });
  dns.set('gw.smart.test', { A: ['192.0.2.77'] });
  const plain = freshDomain('plain');
  await policyHost(plain, policyOf('enforce', [`mx.${plain}`]));
  publish({ domain: plain, mx: [`mx.${plain}`], ad: false, stsId: 'n1' });
  const file = configFor(t.testdir(), [
    '  - name: gateway',
    `    domains: [${domain}]`,
    '    smartHosts: ["gw.smart.test:2525"]',
    '    tls: verify',
    '  - name: cleartext',
    `    domains: [${plain}]`,
    '    tls: none',
  ]);
  const smart = await explain(domain, file);
  t.equal(smart.code, 0, smart.stderr);
  t.notMatch(smart.stdout, /\n {2}MX +/, 'no MX question for a smart-host route');
  t.match(smart.stdout, /\n {2}DANE +not consulted: the connector's level verify does not ask for DANE \(dane and dane-only do\)\n/);
  t.match(smart.stdout, /\n {2}MTA-STS +not consulted: the route is the connector's smart hosts: an MTA-STS policy names a domain's MX hosts, and none is used\n/);
  t.match(smart.stdout, /\n {2}smart host gw\.smart\.test:2525\n {4}addresses +192\.0\.2\.77\n {4}TLSA +not consulted\n {4}decided by +connector\n {4}plan +connect: the connector's own rule \(verify\); published policies are not consulted\n/);
  t.notOk(dns.queries.some((query) => query.name === `_mta-sts.${domain}`), 'the domain\'s MTA-STS record is not even asked for');

  const none = await explain(plain, file);
  t.equal(none.code, 0, none.stderr);
  t.match(none.stdout, /\n {2}MTA-STS +policy fetched now over HTTPS/);
  t.match(hostBlock(none.stdout, `mx.${plain}`), /\n {4}decided by +none\n {4}plan +connect: published policy overridden by the operator \(MTA-STS enforce, id n1\); the connector's level none: no TLS\n/);
  t.match(hostBlock(none.stdout, `mx.${plain}`), /\n {6}any next hop \(no STARTTLS\) +deliver in plaintext\n/);
});

t.test('--json: the explanation and the lookups as one document; a domain that does not exist is output, not a failure', async (t) => {
  const domain = freshDomain('json');
  const mx = `mx.${domain}`;
  const ee = daneEe(await makeCert({ names: [mx] }));
  publish({ domain, mx: [mx, 'gone.json.test'] });
  dns.set('gone.json.test', undefined); // an MX host that does not exist
  dns.set(`_25._tcp.${mx}`, { TLSA: [ee], ad: true });
  const file = configFor(t.testdir(), daneConnector(domain));
  const { code, stdout, stderr } = await explain(domain, file, true);
  t.equal(code, 0, stderr);
  t.equal(stderr, '');
  const document = JSON.parse(stdout) as { lookup: { hosts: unknown[] } } & Record<string, unknown>;
  t.match(document, { direction: 'outbound', domain, connector: 'published', tls: { level: 'dane' } });
  t.match(document.lookup, {
    dns: { servers: [`127.0.0.1:${dns.port}`], dnssec: true },
    mx: { kind: 'found', secure: true, records: [{ exchange: mx, priority: 10 }, { exchange: 'gone.json.test', priority: 20 }] },
    route: { kind: 'hosts' },
    dane: { consulted: true, unavailable: null },
    mtaSts: { consulted: true, state: 'none', reason: /NXDOMAIN/ },
    noListedMx: null,
  });
  t.equal(document.lookup.hosts.length, 2);
  t.match(document.lookup.hosts[0], {
    host: mx,
    port: 25,
    preference: 10,
    addresses: ['192.0.2.1'],
    plan: 'connect',
    decidedBy: 'dane',
    deferral: null,
    rule: { tls: 'dane-only', policy: { source: 'dane', tlsa: [present(ee)] } },
    tlsa: { owner: `_25._tcp.${mx}`, finding: { kind: 'usable', usable: [present(ee)], unusable: [] } },
    mtaStsMx: null,
  });
  const events = (document.lookup.hosts[0] as { outcomes: Array<{ event: string; outcome: { action: string } }> }).outcomes;
  t.same(
    events.map(({ event, outcome }) => `${event}: ${outcome.action}`),
    ['starttls-not-offered: defer', 'starttls-refused: defer', 'starttls-refused-and-closed: defer', 'handshake-failed: defer', 'certificate-fails: defer', 'tlsa-lookup-fails: defer-before-dialling'],
  );
  t.match(document.lookup.hosts[1], { host: 'gone.json.test', preference: 20, addresses: [], plan: 'not-tried', decidedBy: null, explanation: 'gone.json.test has no address (no such name (NXDOMAIN)): not tried', outcomes: [] });

  const missing = freshDomain('missing');
  const absent = await explain(missing, file, true);
  t.equal(absent.code, 0, absent.stderr);
  t.match(JSON.parse(absent.stdout), { lookup: { mx: { kind: 'nxdomain' }, route: { kind: 'failed', outcome: 'bounced', response: /^550 5\.1\.2 / }, hosts: [] } });
  const text = await explain(missing, file);
  t.match(text.stdout, /\n {2}route +no next hop: every message is bounced: 550 5\.1\.2 Host or domain name not found/);
});
