// The DNS client against a real validating resolver: unbound on loopback with zones
// made and signed here. It proves the path DANE depends on end to end — the DO bit goes
// out, unbound validates, the AD bit comes back and is read — with no AD bit of our own
// making: a signed zone is secure, an unsigned one is not, a broken signature is
// SERVFAIL (temporary, never an insecure answer).
import t from 'tap';
import { createHash, X509Certificate } from 'node:crypto';
import { createDnsQuery } from '../../src/outbound/dns/client.js';
import { createDnsLookups } from '../../src/outbound/resolver.js';
import { matchDane, usableTlsa } from '../../src/tls/dane.js';
import { makeCert } from '../helpers/pki.js';
import { needsUnbound, startUnbound, ZONE_NEGATIVE_TTL } from '../helpers/unbound.js';

t.test('unbound validating zones signed at test time', needsUnbound(), async (t) => {
  const leaf = await makeCert({ names: ['mx.signed.test'] });
  const leafDer = new X509Certificate(leaf.cert).raw;
  const keyDigest = createHash('sha256').update(new X509Certificate(leaf.cert).publicKey.export({ type: 'spki', format: 'der' })).digest();
  const mailZone = (name: string, signed: boolean) => ({
    name,
    signed,
    records: ['@ MX 10 mx', 'mx A 127.0.0.10', 'alias CNAME mx', `_25._tcp.mx TLSA 3 1 1 ${keyDigest.toString('hex')}`],
  });
  const tampered = /^(mx\.broken\.test\.\s+\d+\s+IN\s+A\s+)127\.0\.0\.10$/m;
  const unbound = await startUnbound([
    mailZone('signed.test', true),
    mailZone('unsigned.test', false),
    {
      ...mailZone('broken.test', true),
      // the address changed after signing: its RRSIG no longer verifies
      tamper: (zone) => {
        if (!tampered.test(zone)) throw new Error(`no A record of mx.broken.test to tamper with in:\n${zone}`);
        return zone.replace(tampered, '$1127.0.0.66');
      },
    },
  ]);
  t.teardown(() => unbound.stop());

  const lookups = (dnssec: boolean) => createDnsLookups(createDnsQuery({ servers: [{ host: '127.0.0.1', port: unbound.port }], dnssec, timeout: 5_000, tries: 2 }));
  const trusting = lookups(true);

  t.test('a signed zone: the AD bit, on answers and on denials', async (t) => {
    t.same(await trusting.mx('signed.test'), { kind: 'found', records: [{ exchange: 'mx.signed.test', priority: 10 }], name: 'signed.test', secure: true, ttl: 300 });
    t.same(await trusting.addresses('alias.signed.test'), { kind: 'found', records: ['127.0.0.10'], name: 'mx.signed.test', secure: true, ttl: 300 }, 'through a signed CNAME');
    const tlsa = await trusting.tlsa('_25._tcp.mx.signed.test');
    t.match(tlsa, { kind: 'found', secure: true, records: [{ usage: 3, selector: 1, matchingType: 1 }] });
    const records = tlsa.kind === 'found' ? tlsa.records : [];
    t.match(matchDane(usableTlsa(records).usable, [leafDer], ['mx.signed.test'], new Date()), { kind: 'matched', how: 'leaf' }, 'the TLSA record as published matches the certificate it was made from');
    t.same(await trusting.tlsa('_25._tcp.mail.signed.test'), { kind: 'nxdomain', secure: true, ttl: ZONE_NEGATIVE_TTL }, 'a name proven not to exist (NSEC)');
    t.same(await trusting.tlsa('mx.signed.test'), { kind: 'nodata', secure: true, ttl: ZONE_NEGATIVE_TTL }, 'a type proven absent');
  });

  t.test('an unsigned zone: answered, never secure', async (t) => {
    t.match(await trusting.mx('unsigned.test'), { kind: 'found', records: [{ exchange: 'mx.unsigned.test' }], secure: false });
    t.match(await trusting.tlsa('_25._tcp.mx.unsigned.test'), { kind: 'found', secure: false });
    t.same(await trusting.tlsa('_25._tcp.mail.unsigned.test'), { kind: 'nxdomain', secure: false, ttl: ZONE_NEGATIVE_TTL });
  });

  t.test('a broken signature: SERVFAIL, a temporary failure, while the rest of the zone validates', async (t) => {
    t.same(await trusting.addresses('mx.broken.test'), { kind: 'temporary', error: `127.0.0.1:${unbound.port} answered SERVFAIL` });
    t.match(unbound.log(), /validation failure <mx\.broken\.test\. A IN>/, 'unbound says why');
    t.match(await trusting.mx('broken.test'), { kind: 'found', secure: true }, 'the MX RRset, whose signature is intact');
  });

  t.test('without dns.dnssec the same answers are not secure', async (t) => {
    t.match(await lookups(false).mx('signed.test'), { kind: 'found', records: [{ exchange: 'mx.signed.test' }], secure: false });
  });
});
