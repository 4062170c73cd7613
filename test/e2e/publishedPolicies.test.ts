// Published policies end to end through deliverDomain: a DNS server in the test (TLSA with
// the AD bit on or off, SERVFAIL), MTA-STS policy hosts on loopback port 443 with
// certificates of a test CA in tls.trust, and next hops whose TLSA records the test
// computes from their certificates. Nothing of the relay is replaced.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { DELIVERY_DEFAULTS } from '../../src/config/defaults.js';
import type { OutboundConnector } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import type { OutgoingMessage } from '../../src/outbound/types.js';
import type { TlsaRecord } from '../../src/tls/dane.js';
import { buildAggregateReport } from '../../src/tlsRpt/aggregateReport.js';
import { TransitTally } from '../../src/transit/summary.js';
import { startDnsServer, type DnsEntry } from '../helpers/dnsServer.js';
import { startSink, type Sink, type SinkOptions } from '../helpers/peers.js';
import { makeCa, makeCert, type KeyPair } from '../helpers/pki.js';
import { startPolicyHost, type PolicyHost } from '../helpers/policyHost.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';
import { schemaErrors } from '../helpers/tlsReports.js';

const dns = await startDnsServer({});
const webCa = await makeCa('test WebPKI CA');
/** Signs DANE-TA chains; never a trust anchor of the relay. */
const daneCa = await makeCa('test DANE CA');
const closers: Array<() => Promise<void>> = [];
t.teardown(async () => {
  for (const close of closers) await close();
  await dns.close();
});

let counter = 0;
/** A domain no other test uses, so no cache (DNS, MTA-STS) carries over. */
const freshDomain = (label: string): string => `${label}${++counter}.test`;

function message(queueId: string, to: string, headers = ''): OutgoingMessage {
  const body = `From: a@sender.test\r\nTo: ${to}\r\n${headers}Subject: published\r\n\r\nHello.\r\n`;
  return { queueId, from: 'a@sender.test', recipients: [to], size: Buffer.byteLength(body), extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from([Buffer.from(body)]) };
}

async function sink(options: SinkOptions): Promise<Sink> {
  const started = await startSink(options);
  closers.push(() => started.close());
  return started;
}

async function policyHost(domain: string, policy: string): Promise<PolicyHost> {
  const host = await startPolicyHost({ cert: await makeCert({ names: [`mta-sts.${domain}`], ca: webCa }), policy });
  closers.push(() => host.stop());
  // TTL 0: a host moved by a test is found at its new address at once
  dns.set(`mta-sts.${domain}`, { A: [host.address], ttl: 0 });
  return host;
}

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const spkiOf = (pem: string): Buffer => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const derOf = (pem: string): Buffer => new X509Certificate(pem).raw;
const daneEe = (pair: KeyPair): TlsaRecord => ({ usage: 3, selector: 1, matchingType: 1, data: sha256(spkiOf(pair.cert)) });
const daneTa = (ca: KeyPair): TlsaRecord => ({ usage: 2, selector: 0, matchingType: 1, data: sha256(derOf(ca.cert)) });

interface Zone {
  domain: string;
  /** MX host names, by preference; each resolves to 127.0.0.1. */
  mx: string[];
  ad?: boolean;
  tlsa?: Record<string, DnsEntry>;
  /** The `_mta-sts` TXT id; absent: no record. */
  stsId?: string;
}

function publish({ domain, mx, ad = true, tlsa = {}, stsId }: Zone): void {
  dns.set(domain, { MX: mx.map((exchange, index) => ({ preference: 10 * (index + 1), exchange })), ad });
  for (const host of mx) dns.set(host, { A: ['127.0.0.1'], ad });
  for (const [owner, entry] of Object.entries(tlsa)) dns.set(owner, entry);
  // TTL 0: a test that changes the id is heard at once
  if (stsId !== undefined) dns.set(`_mta-sts.${domain}`, { TXT: [`v=STSv1; id=${stsId}`], ttl: 0 });
}

/** Delivers one message to `domain`'s MX on the sink's port, under the connector given (else the implicit one). */
async function deliver(domain: string, port: number, connector?: Partial<OutboundConnector>, options: { messages?: OutgoingMessage[]; cacheDir?: string } = {}) {
  const config = testConfig({
    dns: { servers: [{ host: '127.0.0.1', port: dns.port }], dnssec: true },
    delivery: { ...DELIVERY_DEFAULTS, port },
    outbound: connector ? [testConnector({ name: 'published', domains: [domain], ...connector })] : [],
  });
  const { ctx, log, transit } = testDeliveryContext(config, { extraCa: [webCa.cert], ...(options.cacheDir ? { mtaStsCacheDir: options.cacheDir } : {}) });
  const results = await deliverDomain(domain, options.messages ?? [message('Q1', `b@${domain}`)], ctx);
  return { results, log: log.lines, transit, ctx };
}

const tlsaOwner = (host: string, port: number): string => `_${port}._tcp.${host}`;

t.test('DANE-EE: the next hop\'s own key, whatever its name and issuer', async (t) => {
  const domain = freshDomain('ee');
  const mx = `mx.${domain}`;
  const cert = await makeCert({ names: ['unrelated.example'] });
  const peer = await sink({ tls: 'starttls', cert });
  publish({ domain, mx: [mx], tlsa: { [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(cert)], ad: true } } });
  const { results, log, transit } = await deliver(domain, peer.port, { tls: 'dane' });
  t.match(results[0]?.recipients, [{ outcome: 'delivered' }]);
  t.match(results[0]?.attempts, [{ verdict: 'dane', tlsLevel: 'dane', host: `${mx}[127.0.0.1]:${peer.port}` }]);
  t.equal(peer.received.length, 1);
  t.match(log.find((line) => line.msg === 'DANE: the certificate matched a TLSA record'), { tlsa: /^3 1 1 [0-9a-f]{16}…$/ }, 'the log names the record that matched');
  t.match(log.find((line) => line.msg === 'published policy'), { decidedBy: 'dane', host: `${mx}:${peer.port}` });
  t.match(transit, [{ policy: { source: 'dane', tlsa: [`3 1 1 ${daneEe(cert).data.toString('hex')}`] }, verdict: 'dane', failure: null, outcome: 'delivered' }]);
});

t.test('DANE-TA: the chain under the published anchor and the MX host name', async (t) => {
  const domain = freshDomain('ta');
  const mx = `mx.${domain}`;
  const right = await makeCert({ names: [mx], ca: daneCa });
  const peer = await sink({ tls: 'starttls', cert: { key: right.key, cert: `${right.cert}\n${daneCa.cert}` } });
  publish({ domain, mx: [mx], tlsa: { [tlsaOwner(mx, peer.port)]: { TLSA: [daneTa(daneCa)], ad: true } } });
  const good = await deliver(domain, peer.port, { tls: 'dane-only' });
  t.match(good.results[0]?.recipients, [{ outcome: 'delivered' }], 'a chain the relay does not trust, anchored by DNSSEC');
  t.match(good.results[0]?.attempts, [{ verdict: 'dane' }]);

  const other = freshDomain('ta');
  const otherMx = `mx.${other}`;
  const wrongName = await makeCert({ names: ['mail.elsewhere.test'], ca: daneCa });
  const misnamed = await sink({ tls: 'starttls', cert: { key: wrongName.key, cert: `${wrongName.cert}\n${daneCa.cert}` } });
  publish({ domain: other, mx: [otherMx], tlsa: { [tlsaOwner(otherMx, misnamed.port)]: { TLSA: [daneTa(daneCa)], ad: true } } });
  const bad = await deliver(other, misnamed.port, { tls: 'dane-only' });
  t.match(bad.results[0]?.recipients, [{ outcome: 'deferred', code: 450, response: new RegExp(`^450 4\\.7\\.5 Server certificate not verified for host ${otherMx.replace(/\./g, '\\.')}\\[127\\.0\\.0\\.1\\]: trust anchor 2 0 1 .*the certificate names none of ${otherMx.replace(/\./g, '\\.')}`) }]);
  t.equal(misnamed.received.length, 0, 'nothing sent');
  t.match(bad.transit, [{ policy: { source: 'dane' }, failure: 'tlsa-invalid', outcome: 'deferred' }]);
});

t.test('a TLSA mismatch: nothing sent, deferred 4.7.5 with the reason', async (t) => {
  const domain = freshDomain('mismatch');
  const mx = `mx.${domain}`;
  const peer = await sink({ tls: 'starttls' });
  const stranger = await makeCert({ names: [mx] });
  publish({ domain, mx: [mx], tlsa: { [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(stranger)], ad: true } } });
  const { results, transit } = await deliver(domain, peer.port, { tls: 'dane' });
  t.match(results[0]?.recipients, [{ outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified for host .*: no TLSA record matched the certificate chain \(3 1 1 / }]);
  t.equal(peer.received.length, 0);
  t.match(transit, [{ failure: 'tlsa-invalid', verdict: 'untrusted' }]);
});

t.test('no AD bit: no DANE, opportunistic', async (t) => {
  const domain = freshDomain('insecure');
  const mx = `mx.${domain}`;
  const peer = await sink({ tls: 'starttls' });
  const stranger = await makeCert({ names: [mx] });
  // records that would not match: were they believed, the message would be deferred
  publish({ domain, mx: [mx], ad: false, tlsa: { [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(stranger)], ad: false } } });
  const { results, log } = await deliver(domain, peer.port, { tls: 'dane' });
  t.match(results[0]?.recipients, [{ outcome: 'delivered' }]);
  t.match(results[0]?.attempts, [{ verdict: 'untrusted' }]);
  t.match(log.find((line) => line.msg === 'published policy'), { decidedBy: 'none', why: /not DNSSEC-validated/ });
});

t.test('SERVFAIL on TLSA: deferred, never dialled, one record per host and delivery for TLS-RPT', async (t) => {
  const domain = freshDomain('servfail');
  const mx = `mx.${domain}`;
  const peer = await sink({ tls: 'starttls' });
  publish({ domain, mx: [mx], tlsa: { [tlsaOwner(mx, peer.port)]: { TLSA: 'SERVFAIL' } } });
  const burst = ['S1', 'S2', 'S3'].map((id) => message(id, `${id.toLowerCase()}@${domain}`));
  const { results, transit } = await deliver(domain, peer.port, { tls: 'dane' }, { messages: burst });
  const deferral = /^450 4\.7\.5 TLSA lookup error: .*SERVFAIL for host mx\./;
  for (const result of results) t.match(result.recipients, [{ outcome: 'deferred', code: 450, response: deferral }]);
  t.equal(peer.connections, 0, 'no connection: nothing could satisfy the policy');
  t.equal(transit.length, 1, 'one record for the host, not one per message');
  const { published, ...record } = transit[0]!;
  t.match(published, { tlsa: { kind: 'failed', owner: tlsaOwner(mx, peer.port), error: /SERVFAIL/ }, mtaSts: { kind: 'none' } }, 'what the lookups found, for a replay under another connector (policy what-if)');
  t.strictSame(record, {
    v: 1,
    at: record.at,
    domain,
    connector: 'published',
    host: mx,
    ip: null,
    port: peer.port,
    reused: false,
    route: 'mx',
    policy: { source: 'dane', tlsa: [] },
    tls: null,
    verdict: 'none',
    failure: 'dnssec-invalid',
    outcome: 'deferred',
    reply: results[0]!.recipients[0]!.response,
    messages: 3,
    delivered: 0,
    requireTls: null,
  }, 'never dialled: no ip and no sourceIp; the deferral every message got');

  // the retry run, an hour later for the queue: one record more, whatever it carries
  const retry = await deliver(domain, peer.port, { tls: 'dane' }, { messages: [message('S1', `s1@${domain}`)] });
  const records = [...transit, ...retry.transit];
  t.match(retry.transit, [{ ip: null, failure: 'dnssec-invalid', messages: 1 }]);
  const report = buildAggregateReport(domain, { start: 0, end: Date.now() + 86_400_000 }, records, { organization: 'relay.test', contact: 'postmaster@relay.test', submitter: 'relay.test' })!;
  t.same(schemaErrors(report), [], 'TLS-RPT reports the runs as RFC 8460 has them');
  t.same(report.policies, [{
    policy: { 'policy-type': 'tlsa', 'policy-string': [], 'policy-domain': domain, 'mx-host': [mx] },
    summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 2 },
    'failure-details': [{ 'result-type': 'dnssec-invalid', 'receiving-mx-hostname': mx, 'failed-session-count': 2 }],
  }]);
  const tally = new TransitTally();
  for (const record of records) tally.add(record);
  t.match(tally.report(new Date(0), new Date()).domains, [{ domain, sessions: 0, notDialled: { hosts: 2, messages: 4 }, failures: { 'dnssec-invalid': { sessions: 2, messages: 0 } } }], 'report tls shows them');
});

t.test('dane-only without validated TLSA records: deferred before dialling, recorded as dane-required', async (t) => {
  const domain = freshDomain('required');
  const mx = `mx.${domain}`;
  const peer = await sink({ tls: 'starttls' });
  publish({ domain, mx: [mx], ad: false });
  const { results, transit } = await deliver(domain, peer.port, { tls: 'dane-only' });
  t.match(results[0]?.recipients, [{ outcome: 'deferred', response: /^450 4\.7\.5 No DNSSEC-validated TLSA records, and DANE is required \(dane-only\) for host / }]);
  t.equal(peer.connections, 0);
  t.match(transit, [{ host: mx, ip: null, policy: { source: 'connector', level: 'dane-only' }, failure: 'dane-required', outcome: 'deferred', reply: results[0]!.recipients[0]!.response, messages: 1 }]);
});

t.test('STARTTLS not offered by a host with secure TLSA records: 4.7.4', async (t) => {
  const domain = freshDomain('plain');
  const mx = `mx.${domain}`;
  const peer = await sink({ tls: 'none' });
  const cert = await makeCert({ names: [mx] });
  publish({ domain, mx: [mx], tlsa: { [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(cert)], ad: true } } });
  const { results } = await deliver(domain, peer.port, { tls: 'dane' });
  t.match(results[0]?.recipients, [{ outcome: 'deferred', response: `450 4.7.4 TLS is required, but was not offered by host ${mx}` }]);
  t.equal(peer.received.length, 0);
});

/** `mx` an alias of `target` (secure unless told), the target at 127.0.0.1; TLSA records as `publish` takes them. */
function publishAlias(domain: string, mx: string, target: string, tlsa: Record<string, DnsEntry>, ad = true): void {
  publish({ domain, mx: [mx], tlsa });
  dns.set(mx, { CNAME: target, ad });
  dns.set(target, { A: ['127.0.0.1'], ad: true });
}

t.test('an MX host that is a secure CNAME: TLSA at the name it leads to first, then at its own (RFC 7672 §2.2.3)', async (t) => {
  const cert = await makeCert({ names: ['unrelated.example'] });
  const stranger = await makeCert({ names: ['unrelated.example'] });

  t.test('records only at the expanded name: DANE, and the log says where they were', async (t) => {
    const domain = freshDomain('alias');
    const [mx, target] = [`mx.${domain}`, `host.${domain}`];
    const peer = await sink({ tls: 'starttls', cert });
    publishAlias(domain, mx, target, { [tlsaOwner(target, peer.port)]: { TLSA: [daneEe(cert)], ad: true } });
    const { results, log } = await deliver(domain, peer.port, { tls: 'dane' });
    t.match(results[0]?.attempts, [{ outcome: 'delivered', verdict: 'dane', host: `${mx}[127.0.0.1]:${peer.port}` }]);
    t.match(log.find((line) => line.msg === 'published policy'), { decidedBy: 'dane', why: `DANE: 1 usable TLSA record(s) at ${tlsaOwner(target, peer.port)}; the certificate must match one` });
    t.equal(peer.received[0]?.servername, target, 'SNI: the TLSA base domain (RFC 7672 §8.1)');
  });

  t.test('records at both names: the expanded name\'s decide', async (t) => {
    const domain = freshDomain('alias');
    const [mx, target] = [`mx.${domain}`, `host.${domain}`];
    const peer = await sink({ tls: 'starttls', cert });
    // the host's own records would match; the expanded name's, asked first, do not
    publishAlias(domain, mx, target, { [tlsaOwner(target, peer.port)]: { TLSA: [daneEe(stranger)], ad: true }, [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(cert)], ad: true } });
    const { results } = await deliver(domain, peer.port, { tls: 'dane' });
    t.match(results[0]?.recipients, [{ outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified for host .*: no TLSA record matched the certificate chain/ }]);
    t.equal(peer.received.length, 0);
  });

  t.test('none at the expanded name (validated denial, or not validated): the host\'s own records', async (t) => {
    for (const atTarget of [{ ad: true }, { TLSA: [daneEe(stranger)], ad: false }] satisfies DnsEntry[]) {
      const domain = freshDomain('alias');
      const [mx, target] = [`mx.${domain}`, `host.${domain}`];
      const peer = await sink({ tls: 'starttls', cert });
      publishAlias(domain, mx, target, { [tlsaOwner(target, peer.port)]: atTarget, [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(cert)], ad: true } });
      const { results, log } = await deliver(domain, peer.port, { tls: 'dane' });
      t.match(results[0]?.attempts, [{ outcome: 'delivered', verdict: 'dane' }], `expanded name ${atTarget.ad ? 'denied' : 'insecure'}`);
      t.match(log.find((line) => line.msg === 'published policy'), { why: `DANE: 1 usable TLSA record(s) at ${tlsaOwner(mx, peer.port)}; the certificate must match one` });
      t.equal(peer.received[0]?.servername, mx, 'SNI: the MX host, whose records decided');
    }
  });

  t.test('a failed lookup at the expanded name defers: it is not passed over for the host\'s own records', async (t) => {
    const domain = freshDomain('alias');
    const [mx, target] = [`mx.${domain}`, `host.${domain}`];
    const peer = await sink({ tls: 'starttls', cert });
    publishAlias(domain, mx, target, { [tlsaOwner(target, peer.port)]: { TLSA: 'SERVFAIL' }, [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(cert)], ad: true } });
    const { results, log } = await deliver(domain, peer.port, { tls: 'dane' });
    t.match(results[0]?.recipients, [{ outcome: 'deferred', response: new RegExp(`^450 4\\.7\\.5 TLSA lookup error: .*SERVFAIL for host ${mx.replace(/\./g, '\\.')}$`) }]);
    t.equal(peer.connections, 0);
    t.match(log.find((line) => line.msg === 'published policy: MX host deferred before dialling'), { why: new RegExp(`^the TLSA lookup of ${tlsaOwner(target, peer.port).replace(/\./g, '\\.')} failed`) });
  });

  t.test('an insecure CNAME: no DANE, whatever either name publishes', async (t) => {
    const domain = freshDomain('alias');
    const [mx, target] = [`mx.${domain}`, `host.${domain}`];
    const peer = await sink({ tls: 'starttls', cert });
    publishAlias(domain, mx, target, { [tlsaOwner(target, peer.port)]: { TLSA: [daneEe(stranger)], ad: true }, [tlsaOwner(mx, peer.port)]: { TLSA: [daneEe(stranger)], ad: true } }, false);
    const { results, log } = await deliver(domain, peer.port, { tls: 'dane' });
    t.match(results[0]?.attempts, [{ outcome: 'delivered', verdict: 'untrusted' }]);
    t.match(log.find((line) => line.msg === 'published policy'), { decidedBy: 'none', why: new RegExp(`the address records of ${mx.replace(/\./g, '\\.')} are not DNSSEC-validated`) });
  });

  t.test('DANE-TA: a certificate that names only the expanded name, or only the MX host, is accepted', async (t) => {
    for (const named of ['target', 'mx'] as const) {
      const domain = freshDomain('alias');
      const [mx, target] = [`mx.${domain}`, `host.${domain}`];
      const leaf = await makeCert({ names: [named === 'target' ? target : mx], ca: daneCa });
      const peer = await sink({ tls: 'starttls', cert: { key: leaf.key, cert: `${leaf.cert}\n${daneCa.cert}` } });
      publishAlias(domain, mx, target, { [tlsaOwner(target, peer.port)]: { TLSA: [daneTa(daneCa)], ad: true } });
      const { results } = await deliver(domain, peer.port, { tls: 'dane-only' });
      t.match(results[0]?.attempts, [{ outcome: 'delivered', verdict: 'dane' }], `named ${named === 'target' ? target : mx}`);
    }
  });
});

const policyOf = (mode: string, mx: string[]): string => `version: STSv1\nmode: ${mode}\n${mx.map((pattern) => `mx: ${pattern}\n`).join('')}max_age: 86400\n`;

t.test('MTA-STS enforce: a good certificate, a wrong name, an MX outside the policy', async (t) => {
  const domain = freshDomain('sts');
  const mx = `mx.${domain}`;
  await policyHost(domain, policyOf('enforce', [`*.${domain}`]));
  const good = await sink({ tls: 'starttls', cert: await makeCert({ names: [mx], ca: webCa }) });
  publish({ domain, mx: [mx], ad: false, stsId: 'one' });
  const delivered = await deliver(domain, good.port);
  t.match(delivered.results[0]?.attempts, [{ outcome: 'delivered', verdict: 'verified', connector: 'default' }], 'the implicit connector honours MTA-STS');
  t.match(delivered.transit, [{ policy: { source: 'mta-sts', mode: 'enforce', id: 'one', mx: [`*.${domain}`], policyText: ['version: STSv1', 'mode: enforce', `mx: *.${domain}`, 'max_age: 86400'] } }]);

  const other = freshDomain('sts');
  const otherMx = `mx.${other}`;
  await policyHost(other, policyOf('enforce', [otherMx]));
  const misnamed = await sink({ tls: 'starttls', cert: await makeCert({ names: ['mail.elsewhere.test'], ca: webCa }) });
  publish({ domain: other, mx: [otherMx], ad: false, stsId: 'one' });
  const refused = await deliver(other, misnamed.port);
  t.match(refused.results[0]?.recipients, [{ outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified for host .*names none of/ }]);
  t.equal(misnamed.received.length, 0);
  t.match(refused.transit, [{ policy: { source: 'mta-sts', mode: 'enforce' }, failure: 'certificate-host-mismatch' }]);

  const third = freshDomain('sts');
  const outside = `backup.elsewhere.test`;
  const inside = `mx.${third}`;
  await policyHost(third, policyOf('enforce', [inside]));
  const listed = await sink({ tls: 'starttls', cert: await makeCert({ names: [inside], ca: webCa }) });
  publish({ domain: third, mx: [outside, inside], ad: false, stsId: 'one' });
  const skipping = await deliver(third, listed.port);
  t.match(skipping.results[0]?.attempts, [{ outcome: 'delivered', host: `${inside}[127.0.0.1]:${listed.port}` }], 'the first MX, outside the policy, is not tried');
  t.equal(listed.connections, 1);
  t.match(skipping.log.find((line) => line.msg === 'published policy: MX host not used'), { host: `${outside}:${listed.port}`, decidedBy: 'mta-sts' });
  t.match(skipping.transit, [
    { host: outside, ip: null, policy: { source: 'mta-sts', mode: 'enforce', mx: [inside] }, failure: 'validation-failure', outcome: 'deferred', reply: `450 4.7.5 MX host ${outside} matches none of the MTA-STS policy's mx patterns (${inside}): not used`, messages: 1, delivered: 0 },
    { host: inside, ip: '127.0.0.1', failure: null, outcome: 'delivered' },
  ], 'the skipped MX is recorded, for TLS-RPT, beside the session that delivered');

  const fourth = freshDomain('sts');
  await policyHost(fourth, policyOf('enforce', ['mx.nowhere.test']));
  publish({ domain: fourth, mx: [`mx.${fourth}`], ad: false, stsId: 'one' });
  const none = await deliver(fourth, listed.port);
  t.match(none.results[0]?.recipients, [{ outcome: 'deferred', response: `450 4.7.5 None of the MX hosts of ${fourth} matches its MTA-STS policy (mx.nowhere.test)` }]);
  t.match(none.transit, [{ host: `mx.${fourth}`, ip: null, failure: 'validation-failure', outcome: 'deferred' }]);
  t.equal(none.transit.length, 1);
});

t.test('MTA-STS testing: delivered as the level says, the would-be failure logged and recorded', async (t) => {
  const domain = freshDomain('testing');
  const mx = `mx.${domain}`;
  await policyHost(domain, policyOf('testing', [mx]));
  const peer = await sink({ tls: 'starttls' });
  publish({ domain, mx: [mx], ad: false, stsId: 't1' });
  const { results, log, transit } = await deliver(domain, peer.port);
  t.match(results[0]?.recipients, [{ outcome: 'delivered' }]);
  t.match(log.find((line) => line.msg === 'MTA-STS testing: delivered, but enforce would have deferred'), { resultType: 'certificate-not-trusted', wouldDefer: /^4\.7\.5 Server certificate not verified/ });
  t.match(transit, [{ policy: { source: 'mta-sts', mode: 'testing', id: 't1' }, failure: 'certificate-not-trusted', outcome: 'delivered' }]);

  const other = freshDomain('testing');
  const outside = 'mx.elsewhere.test';
  await policyHost(other, policyOf('testing', [`mx.${other}`]));
  const trusted = await sink({ tls: 'starttls', cert: await makeCert({ names: [outside], ca: webCa }) });
  publish({ domain: other, mx: [outside], ad: false, stsId: 't1' });
  const unlisted = await deliver(other, trusted.port);
  t.match(unlisted.results[0]?.recipients, [{ outcome: 'delivered' }], 'an MX the testing policy does not name is used');
  t.match(unlisted.transit, [{ host: outside, policy: { source: 'mta-sts', mode: 'testing' }, verdict: 'verified', failure: 'validation-failure', outcome: 'delivered' }], 'and recorded as enforce would have skipped it');
});

t.test('a cached policy is enforced after a restart while the policy host is down; a new id fetches the new policy', async (t) => {
  const domain = freshDomain('cache');
  const mx = `mx.${domain}`;
  const host = await policyHost(domain, policyOf('enforce', [mx]));
  const peer = await sink({ tls: 'starttls' }); // self-signed: fails enforce, passes testing
  publish({ domain, mx: [mx], ad: false, stsId: 'one' });
  const cacheDir = join(mkdtempSync(join(tmpdir(), 'tlsrelay-published-')), 'mta-sts');
  const first = await deliver(domain, peer.port, undefined, { cacheDir });
  t.match(first.results[0]?.recipients, [{ outcome: 'deferred' }], 'enforce refuses the self-signed certificate');
  t.equal(host.requests.length, 1);
  await host.stop();
  const restarted = await deliver(domain, peer.port, undefined, { cacheDir, messages: [message('Q2', `b@${domain}`)] });
  t.match(restarted.results[0]?.recipients, [{ outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified/ }], 'a new process reads the durable cache');
  t.equal(peer.received.length, 0);

  const revived = await startPolicyHost({ cert: await makeCert({ names: [`mta-sts.${domain}`], ca: webCa }), policy: policyOf('testing', [mx]) });
  closers.push(() => revived.stop());
  dns.set(`mta-sts.${domain}`, { A: [revived.address], ttl: 0 });
  dns.set(`_mta-sts.${domain}`, { TXT: ['v=STSv1; id=two'], ttl: 0 });
  const changed = await deliver(domain, peer.port, undefined, { cacheDir, messages: [message('Q3', `b@${domain}`)] });
  t.equal(revived.requests.length, 1, 'the new id is fetched');
  t.match(changed.results[0]?.recipients, [{ outcome: 'delivered' }], 'and the new policy (testing) applies');
  t.match(changed.transit, [{ policy: { mode: 'testing', id: 'two' } }]);
});

t.test('a redirect or an oversized policy is no policy, and a failure to report', async (t) => {
  const cases = [
    { label: 'redirect', policy: policyOf('enforce', ['*']), failure: 'sts-policy-fetch-error', redirect: true },
    { label: 'oversized', policy: `${policyOf('enforce', ['*'])}${'#'.repeat(70 * 1024)}\n`, failure: 'sts-policy-invalid', redirect: false },
  ];
  for (const { label, policy, failure, redirect } of cases) {
    const domain = freshDomain(label);
    const mx = `mx.${domain}`;
    const host = await policyHost(domain, policy.replace('mx: *', `mx: ${mx}`));
    if (redirect) host.respond = (_req, res) => void res.writeHead(301, { location: `https://elsewhere.test/` }).end();
    const peer = await sink({ tls: 'starttls' });
    publish({ domain, mx: [mx], ad: false, stsId: 'one' });
    const { results, transit } = await deliver(domain, peer.port);
    t.match(results[0]?.recipients, [{ outcome: 'delivered' }], `${label}: delivered as without a policy (the self-signed certificate enforce would refuse)`);
    t.match(transit, [{ policy: { source: 'none' }, failure }], `${label}: recorded for TLS-RPT`);
  }
});

t.test('TLS-Required: No: published policies off for that message, the connector level still on', async (t) => {
  const domain = freshDomain('waived');
  const mx = `mx.${domain}`;
  await policyHost(domain, policyOf('enforce', [mx]));
  const peer = await sink({ tls: 'starttls' });
  publish({ domain, mx: [mx], ad: false, stsId: 'one' });
  const bothAsked: OutgoingMessage = { ...message('BOTH', `e@${domain}`, 'TLS-Required: No\r\n'), requireTls: true };
  const messages = [message('KEEP', `b@${domain}`), message('WAIVE', `c@${domain}`, 'TLS-Required:\r\n No\r\n'), bothAsked];
  const { results, log, transit } = await deliver(domain, peer.port, undefined, { messages });
  t.match(results[0]?.recipients, [{ outcome: 'deferred' }], 'without the header: enforce');
  t.match(results[1]?.recipients, [{ outcome: 'delivered' }], 'with it (folded): delivered');
  // RFC 8689 §5: with REQUIRETLS the header is ignored, so enforce refuses the self-signed certificate (not a 5.7.30 bounce)
  t.match(results[2]?.recipients, [{ outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified/ }], 'REQUIRETLS and the header: the header is ignored');
  t.match(log.find((line) => line.msg === 'published policy' && line.tlsRequired === 'no'), { why: /^TLS-Required: No: published policies not applied to this message/ });
  const [enforced, waived] = transit;
  t.match(enforced, { policy: { source: 'mta-sts', mode: 'enforce' }, failure: 'certificate-not-trusted', outcome: 'deferred', messages: 2 });
  t.notOk('tlsRequiredNo' in enforced!, 'the session of the messages without the header (or with it ignored) waived nothing');
  t.match(waived, { policy: { source: 'none' }, failure: null, outcome: 'delivered', tlsRequiredNo: true }, 'the record says the published policies were waived');
  const report = buildAggregateReport(domain, { start: 0, end: Date.now() + 86_400_000 }, transit, { organization: 'relay.test', contact: 'postmaster@relay.test', submitter: 'relay.test' });
  t.same(report?.policies.map((policy) => [policy.policy['policy-type'], policy.summary]), [['sts', { 'total-successful-session-count': 0, 'total-failure-session-count': 1 }]], 'TLS-RPT: the waived session neither met nor failed the policy (RFC 8689), nor is it no-policy-found');

  const plain = await sink({ tls: 'none' });
  const waivedEncrypt = await deliver(domain, plain.port, { tls: 'encrypt' }, { messages: [message('ENC', `d@${domain}`, 'TLS-Required: No\r\n')] });
  t.match(waivedEncrypt.results[0]?.recipients, [{ outcome: 'deferred', response: /^450 4\.7\.4 / }], "the connector's encrypt still holds");
});

/**
 * The issue's figure: 1,000 deliveries, each its own job as the agent starts them for
 * messages that arrive together. In process, over connections the relay parks and takes
 * up again, the whole burst took 6 to 8 s on a 2-core machine at a load average near 7
 * (50 took under 1 s), so the figure itself is tested rather than a smaller one standing
 * in for it. Nothing here is timed: the test waits for the fetch and the MX query.
 */
const BURST = 1_000;

t.test('a burst of 1,000 deliveries to one domain makes one policy fetch, and the MX lookup does not wait for it', async (t) => {
  const domain = freshDomain('burst');
  const mx = `mx.${domain}`;
  const host = await policyHost(domain, policyOf('enforce', [mx]));
  const serve = host.respond;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  host.respond = (req, res) => void held.then(() => serve(req, res));
  const peer = await sink({ tls: 'starttls', cert: await makeCert({ names: [mx], ca: webCa }) });
  publish({ domain, mx: [mx], ad: false, stsId: 'one' });
  const config = testConfig({ dns: { servers: [{ host: '127.0.0.1', port: dns.port }] }, delivery: { ...DELIVERY_DEFAULTS, port: peer.port } });
  const { ctx } = testDeliveryContext(config, { extraCa: [webCa.cert] });
  const jobs = Array.from({ length: BURST }, (_, index) => deliverDomain(domain, [message(`B${index}`, `u${index}@${domain}`)], ctx));
  // the fetch is held: the MX of the domain is asked meanwhile, beside it
  while (host.requests.length === 0 || !dns.queries.some((query) => query.name === domain && query.type === 'MX')) await new Promise((resolve) => setImmediate(resolve));
  release();
  const results = await Promise.all(jobs);
  t.equal(host.requests.length, 1, `one fetch for ${BURST} deliveries`);
  t.ok(results.every(([result]) => result?.recipients[0]?.outcome === 'delivered'));
  t.equal(peer.received.length, BURST);
});
