// The HTTPS GET of a policy against real servers: a policy host on 127.x.y.z:443 per
// certificate, named in a test DNS server that the fetch must use (the machine's resolver
// knows none of these names).
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { createDnsQuery } from '../../../src/outbound/dns/client.js';
import { fetchPolicyText, MAX_POLICY_BYTES, type FetchTrust } from '../../../src/outbound/mtaSts/fetchPolicy.js';
import { createDnsLookups } from '../../../src/outbound/resolver.js';
import { parseCrlFile } from '../../../src/tls/crl.js';
import { startDnsServer, type TestDnsServer } from '../../helpers/dnsServer.js';
import { makeCa, makeCert, makeCrl, type KeyPair } from '../../helpers/pki.js';
import { startPolicyHost, type PolicyHost } from '../../helpers/policyHost.js';

const POLICY = 'version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 86400\n';
const DAY = 86_400_000;

let dns: TestDnsServer;
let ca: KeyPair;
let trust: FetchTrust;
const hosts: PolicyHost[] = [];

/** A policy host for `domain` presenting `cert` (by default one for mta-sts.DOMAIN from the test CA), named in the test DNS. */
async function hostFor(domain: string, cert?: KeyPair): Promise<PolicyHost> {
  const host = await startPolicyHost({ cert: cert ?? (await makeCert({ names: [`mta-sts.${domain}`], ca })), policy: POLICY });
  hosts.push(host);
  dns.set(`mta-sts.${domain}`, { A: [host.address] });
  return host;
}

const fetchFrom = (domain: string, options: { timeoutMs?: number; trust?: FetchTrust } = {}) =>
  fetchPolicyText(domain, { lookups: createDnsLookups(createDnsQuery({ servers: [{ host: '127.0.0.1', port: dns.port }], dnssec: false, timeout: 2_000, tries: 1 })), trust: options.trust ?? trust, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });

t.before(async () => {
  dns = await startDnsServer({});
  ca = await makeCa('MTA-STS test CA');
  trust = { ca: [...rootCertificates, ca.cert], crl: [] };
});
t.teardown(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await dns.close();
});

t.test('a policy host named through the relay DNS, with a certificate of a CA in tls.trust: the policy text', async (t) => {
  const host = await hostFor('good.test');
  t.same(await fetchFrom('good.test'), { kind: 'fetched', text: POLICY });
  t.same(host.requests, [{ path: '/.well-known/mta-sts.txt', host: 'mta-sts.good.test', servername: 'mta-sts.good.test' }], 'the well-known path, Host and SNI of the policy host');
  t.ok(dns.queries.some((query) => query.name === 'mta-sts.good.test' && query.type === 'A'), 'the address came from dns.servers');
});

t.test('a wildcard certificate for the parent domain covers mta-sts.DOMAIN', async (t) => {
  await hostFor('wild.test', await makeCert({ names: ['*.wild.test'], ca }));
  t.same(await fetchFrom('wild.test'), { kind: 'fetched', text: POLICY });
});

t.test('certificate failures are sts-webpki-invalid, and nothing is asked', async (t) => {
  const otherCa = await makeCa('a CA nobody trusts');
  const cases: Array<[string, () => Promise<KeyPair>, RegExp]> = [
    ['wrongname.test', () => makeCert({ names: ['mta-sts.other.test', 'wrongname.test'], ca }), /^certificate of mta-sts\.wrongname\.test: Hostname\/IP does not match certificate's altnames: Host: mta-sts\.wrongname\.test\. is not in the cert's altnames: DNS:mta-sts\.other\.test/],
    ['untrusted.test', () => makeCert({ names: ['mta-sts.untrusted.test'], ca: otherCa }), /issuer not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/],
    ['selfsigned.test', () => makeCert({ names: ['mta-sts.selfsigned.test'] }), /self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/],
    ['expired.test', () => makeCert({ names: ['mta-sts.expired.test'], ca, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) }), /certificate has expired \(CERT_HAS_EXPIRED\)/],
  ];
  for (const [domain, cert, reason] of cases) {
    const host = await hostFor(domain, await cert());
    const result = await fetchFrom(domain);
    t.equal(result.kind === 'failed' && result.failure.resultType, 'sts-webpki-invalid', domain);
    t.match(result.kind === 'failed' ? result.failure.reason : '', reason, domain);
    t.same(host.requests, [], `${domain}: no GET reached the host`);
  }
});

t.test('a certificate revoked by a CRL in tls.crl is sts-webpki-invalid', async (t) => {
  const cert = await makeCert({ names: ['mta-sts.revoked.test'], ca });
  const host = await hostFor('revoked.test', cert);
  const crl = parseCrlFile(await makeCrl(ca, { revoked: [cert.cert] }), 'test.crl');
  const result = await fetchFrom('revoked.test', { trust: { ...trust, crl } });
  t.same(result.kind === 'failed' && result.failure, { resultType: 'sts-webpki-invalid', reason: 'certificate of mta-sts.revoked.test: certificate has been revoked (CERT_REVOKED)' });
  t.same(host.requests, [], 'no GET reached the host');
  t.same(await fetchFrom('revoked.test'), { kind: 'fetched', text: POLICY }, 'the same host without the CRL');
});

t.test('a redirect is refused and not followed', async (t) => {
  const target = await hostFor('target.test');
  const host = await hostFor('redirect.test');
  for (const status of [301, 302, 307, 308]) {
    host.respond = (_req, res) => res.writeHead(status, { location: 'https://mta-sts.target.test/.well-known/mta-sts.txt' }).end();
    const result = await fetchFrom('redirect.test');
    t.same(result.kind === 'failed' && result.failure, {
      resultType: 'sts-policy-fetch-error',
      reason: `mta-sts.redirect.test answered ${status} redirecting to https://mta-sts.target.test/.well-known/mta-sts.txt: redirects are not followed (RFC 8461 §3.3)`,
    }, `${status}`);
  }
  host.respond = (_req, res) => res.writeHead(303).end();
  t.same(await fetchFrom('redirect.test'), {
    kind: 'failed',
    failure: { resultType: 'sts-policy-fetch-error', reason: 'mta-sts.redirect.test answered 303: redirects are not followed (RFC 8461 §3.3)' },
  }, 'without a Location');
  t.same(target.requests, [], 'the target of the redirect was never asked');
});

t.test('only 200 counts', async (t) => {
  const host = await hostFor('status.test');
  host.respond = (_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end(POLICY);
  t.same(await fetchFrom('status.test'), { kind: 'failed', failure: { resultType: 'sts-policy-fetch-error', reason: 'mta-sts.status.test answered 404 Not Found' } });
  host.respond = (_req, res) => res.writeHead(204).end();
  t.match(await fetchFrom('status.test'), { failure: { resultType: 'sts-policy-fetch-error', reason: /answered 204/ } });
});

t.test('the media type must be text/plain', async (t) => {
  const host = await hostFor('type.test');
  host.respond = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(POLICY);
  t.same(await fetchFrom('type.test'), { kind: 'failed', failure: { resultType: 'sts-policy-invalid', reason: 'mta-sts.type.test served the policy as "text/html", not text/plain' } });
  host.respond = (_req, res) => {
    res.removeHeader('content-type');
    res.writeHead(200).end(POLICY);
  };
  t.match(await fetchFrom('type.test'), { failure: { resultType: 'sts-policy-invalid', reason: /as no Content-Type, not text\/plain/ } });
  host.respond = (_req, res) => res.writeHead(200, { 'content-type': 'Text/Plain ; charset=UTF-8' }).end(POLICY);
  t.same(await fetchFrom('type.test'), { kind: 'fetched', text: POLICY }, 'case and parameters are free');
});

t.test('a body over 64 KiB is refused, whether announced or not; 64 KiB is read', async (t) => {
  const host = await hostFor('big.test');
  const padded = (size: number): string => POLICY + 'x'.repeat(size - POLICY.length);
  host.respond = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': MAX_POLICY_BYTES + 1 }).end(padded(MAX_POLICY_BYTES + 1));
  t.same(await fetchFrom('big.test'), {
    kind: 'failed',
    failure: { resultType: 'sts-policy-invalid', reason: `mta-sts.big.test announced ${MAX_POLICY_BYTES + 1} bytes; a policy may have at most ${MAX_POLICY_BYTES}` },
  });
  let sent = 0;
  host.respond = (_req, res) => {
    // chunked, no Content-Length: the reader must count, and stop
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = 'x'.repeat(16 * 1024);
    const more = (): void => {
      while (sent < 10 * MAX_POLICY_BYTES) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => res.destroy());
    more();
  };
  t.same(await fetchFrom('big.test'), { kind: 'failed', failure: { resultType: 'sts-policy-invalid', reason: `the policy from mta-sts.big.test is larger than ${MAX_POLICY_BYTES} bytes` } });
  host.respond = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(padded(MAX_POLICY_BYTES));
  t.same(await fetchFrom('big.test'), { kind: 'fetched', text: padded(MAX_POLICY_BYTES) });
});

t.test('a body that is not UTF-8 is no policy text', async (t) => {
  const host = await hostFor('binary.test');
  host.respond = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(Buffer.from([0x76, 0xff, 0xfe, 0x0a]));
  t.same(await fetchFrom('binary.test'), { kind: 'failed', failure: { resultType: 'sts-policy-invalid', reason: 'the policy from mta-sts.binary.test is not UTF-8 text' } });
});

t.test('a policy host without an address, or whose lookup fails', async (t) => {
  t.same(await fetchFrom('noaddress.test'), { kind: 'failed', failure: { resultType: 'sts-policy-fetch-error', reason: 'mta-sts.noaddress.test has no address (NXDOMAIN)' } });
  dns.set('mta-sts.nodata.test', {});
  t.same(await fetchFrom('nodata.test'), { kind: 'failed', failure: { resultType: 'sts-policy-fetch-error', reason: 'mta-sts.nodata.test has no address (no A or AAAA record)' } });
  dns.set('mta-sts.servfail.test', 'SERVFAIL');
  t.match(await fetchFrom('servfail.test'), { failure: { resultType: 'sts-policy-fetch-error', reason: /^address lookup of mta-sts\.servfail\.test failed: / } });
});

t.test('a host that is down is a fetch error; the next address is tried', async (t) => {
  const down = await hostFor('down.test');
  await down.stop();
  t.match(await fetchFrom('down.test'), { failure: { resultType: 'sts-policy-fetch-error', reason: `cannot connect to mta-sts.down.test (${down.address}: connect ECONNREFUSED ${down.address}:443)` } });
  const up = await hostFor('second.test');
  dns.set('mta-sts.second.test', { A: [down.address, up.address] });
  t.same(await fetchFrom('second.test'), { kind: 'fetched', text: POLICY });
  t.equal(up.requests.length, 1);
});

t.test('a host that does not answer in time', async (t) => {
  // TCP accepted, then silence: no TLS, no HTTP
  const silent = createServer(() => {});
  const sockets = new Set<Socket>();
  silent.on('connection', (socket) => sockets.add(socket));
  const address = (await hostFor('silent.test')).address;
  await hosts.pop()!.stop();
  await new Promise<void>((resolve) => silent.listen(443, address, resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  t.same(await fetchFrom('silent.test', { timeoutMs: 1_000 }), { kind: 'failed', failure: { resultType: 'sts-policy-fetch-error', reason: 'no complete answer from mta-sts.silent.test within 1 s' } });

  // the head and half a body, then silence
  const slow = await hostFor('slow.test');
  slow.respond = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000 });
    res.write(POLICY);
  };
  t.same(await fetchFrom('slow.test', { timeoutMs: 1_000 }), { kind: 'failed', failure: { resultType: 'sts-policy-fetch-error', reason: 'no complete answer from mta-sts.slow.test within 1 s' } });
});

t.test('a host that is not HTTPS, or closes before the body is complete', async (t) => {
  const host = await hostFor('cut.test');
  host.respond = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000 });
    res.write(POLICY);
    setImmediate(() => req.socket.destroy());
  };
  t.same(await fetchFrom('cut.test'), { kind: 'failed', failure: { resultType: 'sts-policy-fetch-error', reason: 'mta-sts.cut.test closed the connection before the policy was complete' } });

  const plain = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nversion: STSv1\r\n'));
  const address = (await hostFor('plain.test')).address;
  await hosts.pop()!.stop();
  await new Promise<void>((resolve) => plain.listen(443, address, resolve));
  t.teardown(() => plain.close());
  t.match(await fetchFrom('plain.test'), { failure: { resultType: 'sts-policy-fetch-error', reason: /^mta-sts\.plain\.test: / } });
});
