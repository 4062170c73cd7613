// DANE end to end through a real validating resolver: deliverDomain asks unbound (zones
// signed at test time, see helpers/unbound.ts) and delivers to a sink on loopback whose
// TLSA record the test computes from the sink's key. No AD bit is of the test's making:
// a signed zone is DANE (also for an MX host that is a CNAME, its TLSA records at the
// name it leads to), the same records unsigned are not, a broken signature is a
// failed lookup. The sinks' ports are random and the TLSA owner names carry them, so the
// sinks listen before the zones are written.
import { createHash, X509Certificate } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { DELIVERY_DEFAULTS } from '../../src/config/defaults.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import type { OutgoingMessage } from '../../src/outbound/types.js';
import { startSink, type Sink } from '../helpers/peers.js';
import { makeCert, type KeyPair } from '../helpers/pki.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';
import { needsUnbound, startUnbound, type TestZone, type UnboundInstance } from '../helpers/unbound.js';

const keyDigest = (pair: KeyPair): string =>
  createHash('sha256').update(new X509Certificate(pair.cert).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');

function message(domain: string): OutgoingMessage {
  const body = `From: a@sender.test\r\nTo: b@${domain}\r\nSubject: dane through unbound\r\n\r\nHello.\r\n`;
  return { queueId: 'Q1', from: 'a@sender.test', recipients: [`b@${domain}`], size: Buffer.byteLength(body), extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from([Buffer.from(body)]) };
}

/** A mail domain: MX → mx, mx at 127.0.0.1, and a DANE-EE record for the key given at `_PORT._tcp.mx`. */
function mailZone(name: string, port: number, tlsaKey: KeyPair, options: Pick<TestZone, 'signed' | 'tamper'>): TestZone {
  return { name, ...options, records: ['@ MX 10 mx', 'mx A 127.0.0.1', `_${port}._tcp.mx TLSA 3 1 1 ${keyDigest(tlsaKey)}`] };
}

t.test('DANE through unbound', needsUnbound(), async (t) => {
  const sinks: Sink[] = [];
  const sink = async (cert: KeyPair): Promise<Sink> => {
    const started = await startSink({ tls: 'starttls', cert });
    sinks.push(started);
    return started;
  };
  let unbound: UnboundInstance | undefined;
  t.teardown(async () => {
    await unbound?.stop();
    for (const started of sinks) await started.close();
  });

  // names the certificates do not bear: DANE-EE checks neither name nor issuer (RFC 7672 §3.1.1)
  const cert = await makeCert({ names: ['unrelated.example'] });
  const stranger = await makeCert({ names: ['unrelated.example'] });
  const signed = await sink(cert);
  const unsigned = await sink(cert);
  const mismatched = await sink(cert);
  const bogus = await sink(cert);
  const aliased = await sink(cert);
  const tlsaLine = /^(_\d+\._tcp\.mx\.bogus\.test\.\s+\d+\s+IN\s+TLSA\s+3\s+1\s+1\s+)[0-9A-Fa-f]+$/m;
  unbound = await startUnbound([
    mailZone('dane.test', signed.port, cert, { signed: true }),
    mailZone('plain.test', unsigned.port, cert, { signed: false }),
    mailZone('mismatch.test', mismatched.port, stranger, { signed: true }),
    {
      ...mailZone('bogus.test', bogus.port, cert, { signed: true }),
      // the TLSA data changed after signing: its RRSIG no longer verifies, while MX and A do
      tamper: (zone) => {
        if (!tlsaLine.test(zone)) throw new Error(`no TLSA record of mx.bogus.test to tamper with in:\n${zone}`);
        return zone.replace(tlsaLine, `$1${keyDigest(stranger)}`);
      },
    },
    // the MX host is an alias: its TLSA records are at the name the CNAME leads to
    { name: 'alias.test', signed: true, records: ['@ MX 10 mx', 'mx CNAME host', 'host A 127.0.0.1', `_${aliased.port}._tcp.host TLSA 3 1 1 ${keyDigest(cert)}`] },
  ]);
  const port = unbound.port;

  const deliver = async (domain: string, peer: Sink) => {
    const config = testConfig({
      dns: { servers: [{ host: '127.0.0.1', port }], dnssec: true },
      delivery: { ...DELIVERY_DEFAULTS, port: peer.port },
      outbound: [testConnector({ name: 'dane', domains: [domain], tls: 'dane' })],
    });
    const { ctx, log, transit } = testDeliveryContext(config);
    const [result] = await deliverDomain(domain, [message(domain)], ctx);
    return { result, log: log.lines, transit };
  };

  t.test('a signed zone: delivered under DANE, the matching record named', async (t) => {
    const { result, log, transit } = await deliver('dane.test', signed);
    t.match(result?.recipients, [{ outcome: 'delivered' }]);
    t.match(result?.attempts, [{ verdict: 'dane', tlsLevel: 'dane', host: `mx.dane.test[127.0.0.1]:${signed.port}` }]);
    t.equal(signed.received.length, 1);
    t.ok(signed.received[0]?.secure, 'over TLS');
    t.match(log.find((line) => line.msg === 'published policy'), { decidedBy: 'dane', host: `mx.dane.test:${signed.port}` });
    t.match(log.find((line) => line.msg === 'DANE: the certificate matched a TLSA record'), { tlsa: `3 1 1 ${keyDigest(cert).slice(0, 16)}…` });
    t.match(transit, [{ policy: { source: 'dane', tlsa: [`3 1 1 ${keyDigest(cert)}`] }, verdict: 'dane', failure: null, outcome: 'delivered' }]);
  });

  t.test('the same records unsigned: no DANE, opportunistic', async (t) => {
    const { result, log, transit } = await deliver('plain.test', unsigned);
    t.match(result?.recipients, [{ outcome: 'delivered' }]);
    // a certificate no root vouches for, delivered as opportunistic delivers it
    t.match(result?.attempts, [{ verdict: 'untrusted' }]);
    t.equal(unsigned.received.length, 1);
    t.match(log.find((line) => line.msg === 'published policy'), { decidedBy: 'none', why: /the MX answer for plain\.test is not DNSSEC-validated/ });
    t.match(transit, [{ policy: { source: 'none' }, verdict: 'untrusted' }]);
  });

  t.test('a signed TLSA record that does not match: deferred 4.7.5, nothing sent', async (t) => {
    const { result, transit } = await deliver('mismatch.test', mismatched);
    t.match(result?.recipients, [{ outcome: 'deferred', code: 450, response: /^450 4\.7\.5 Server certificate not verified for host mx\.mismatch\.test\[127\.0\.0\.1\]: no TLSA record matched the certificate chain \(3 1 1 / }]);
    t.equal(mismatched.received.length, 0);
    t.match(transit, [{ policy: { source: 'dane', tlsa: [`3 1 1 ${keyDigest(stranger)}`] }, failure: 'tlsa-invalid', outcome: 'deferred' }]);
  });

  t.test('a TLSA record whose signature is broken: the lookup fails, deferred before dialling', async (t) => {
    const { result, transit } = await deliver('bogus.test', bogus);
    t.match(result?.recipients, [{ outcome: 'deferred', code: 450, response: `450 4.7.5 TLSA lookup error: 127.0.0.1:${port} answered SERVFAIL for host mx.bogus.test` }]);
    t.match(unbound!.log(), new RegExp(`validation failure <_${bogus.port}\\._tcp\\.mx\\.bogus\\.test\\. TLSA IN>`), 'unbound found the signature broken');
    t.equal(bogus.connections, 0, 'never dialled: nothing could satisfy the policy');
    t.match(transit, [{ host: 'mx.bogus.test', ip: null, port: bogus.port, policy: { source: 'dane', tlsa: [] }, failure: 'dnssec-invalid', outcome: 'deferred', reply: result!.recipients[0]!.response }], 'the host not dialled is recorded for TLS-RPT: dnssec-invalid');
    t.equal(transit.length, 1);
  });

  t.test('a signed zone whose MX host is a CNAME: the TLSA records at the name it leads to', async (t) => {
    const { result, log } = await deliver('alias.test', aliased);
    t.match(result?.attempts, [{ outcome: 'delivered', verdict: 'dane', host: `mx.alias.test[127.0.0.1]:${aliased.port}` }]);
    t.equal(aliased.received.length, 1);
    t.match(log.find((line) => line.msg === 'published policy'), { decidedBy: 'dane', why: `DANE: 1 usable TLSA record(s) at _${aliased.port}._tcp.host.alias.test; the certificate must match one` });
  });
});
