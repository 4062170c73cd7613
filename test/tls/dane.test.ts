// DANE matching with certificate chains made at test time and TLSA data computed here
// from the certificates, independently of the code under test (Node's own SPKI export).
import t from 'tap';
import { createHash, X509Certificate } from 'node:crypto';
import { describeTlsa, matchDane, usableTlsa, type TlsaRecord } from '../../src/tls/dane.js';
import { subjectPublicKeyInfo } from '../../src/tls/spki.js';
import { makeCa, makeCert, type KeyPair } from '../helpers/pki.js';

const DAY = 86_400_000;
const now = new Date();

const der = (pair: KeyPair): Buffer => new X509Certificate(pair.cert).raw;
const spki = (pair: KeyPair): Buffer => new X509Certificate(pair.cert).publicKey.export({ type: 'spki', format: 'der' });
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();
const sha512 = (data: Buffer): Buffer => createHash('sha512').update(data).digest();
const tlsa = (usage: number, selector: number, matchingType: number, data: Buffer): TlsaRecord => ({ usage, selector, matchingType, data });

const root = await makeCa('DANE test root');
const intermediate = await makeCa('DANE test intermediate', { issuer: root });
const leaf = await makeCert({ names: ['mx.example.test'], ca: intermediate });
const chain = [der(leaf), der(intermediate)];
const fullChain = [...chain, der(root)];
const stranger = await makeCert({ names: ['mx.example.test'] });

t.test('the SubjectPublicKeyInfo as it is in the certificate, EC and RSA', async (t) => {
  const rsaCa = await makeCa('RSA CA', { keyType: 'rsa' });
  const rsaLeaf = await makeCert({ ca: rsaCa, keyType: 'rsa' });
  for (const pair of [leaf, root, rsaCa, rsaLeaf]) t.ok(subjectPublicKeyInfo(der(pair)).equals(spki(pair)));
  t.throws(() => subjectPublicKeyInfo(Buffer.from('3003020101', 'hex')), /truncated|not a certificate/);
});

t.test('usable records: DANE-TA and DANE-EE, selectors 0 and 1, matching types 0, 1 and 2 of the right length', async (t) => {
  const usable = [tlsa(3, 1, 1, Buffer.alloc(32)), tlsa(2, 0, 2, Buffer.alloc(64)), tlsa(3, 0, 0, Buffer.from('30', 'hex'))];
  const unusable = [
    tlsa(0, 0, 1, Buffer.alloc(32)), // PKIX-TA: not for SMTP (RFC 7672 3.1.3)
    tlsa(1, 1, 1, Buffer.alloc(32)), // PKIX-EE
    tlsa(4, 1, 1, Buffer.alloc(32)),
    tlsa(3, 2, 1, Buffer.alloc(32)),
    tlsa(3, 1, 3, Buffer.alloc(32)),
    tlsa(3, 1, 1, Buffer.alloc(31)),
    tlsa(3, 1, 2, Buffer.alloc(32)),
    tlsa(3, 1, 0, Buffer.alloc(0)),
  ];
  t.same(usableTlsa([...unusable, ...usable]), { usable, unusable: unusable.length });
  t.same(usableTlsa([]), { usable: [], unusable: 0 });
});

t.test('describeTlsa: parameters and the first 8 bytes', async (t) => {
  t.equal(describeTlsa(tlsa(3, 1, 1, Buffer.from('9f86d081884c7d659a2feaa0c55ad015', 'hex'))), '3 1 1 9f86d081884c7d65…');
  t.equal(describeTlsa(tlsa(2, 0, 0, Buffer.from('3082', 'hex'))), '2 0 0 3082');
});

t.test('DANE-EE: the leaf certificate or key, by each matching type; names and dates not checked', async (t) => {
  for (const record of [tlsa(3, 1, 1, sha256(spki(leaf))), tlsa(3, 0, 1, sha256(der(leaf))), tlsa(3, 1, 2, sha512(spki(leaf))), tlsa(3, 0, 0, der(leaf)), tlsa(3, 1, 0, spki(leaf))]) {
    t.same(matchDane([record], chain, ['mx.example.test'], now), { kind: 'matched', record, depth: 0, how: 'leaf' }, describeTlsa(record));
  }
  const expiredElsewhere = await makeCert({ names: ['other.test'], notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - 30 * DAY) });
  const record = tlsa(3, 1, 1, sha256(spki(expiredElsewhere)));
  t.match(matchDane([record], [der(expiredElsewhere)], ['mx.example.test'], now), { kind: 'matched', how: 'leaf' }, 'self-signed, expired, another name: the key is what was published');
  t.match(
    matchDane([tlsa(3, 1, 1, sha256(spki(stranger)))], chain, ['mx.example.test'], now),
    { kind: 'failed', reason: /^no TLSA record matched the certificate chain \(3 1 1 [0-9a-f]{16}…\)$/ },
    'another key',
  );
  t.match(matchDane([tlsa(3, 1, 1, sha256(spki(intermediate)))], chain, ['mx.example.test'], now), { kind: 'failed' }, 'DANE-EE is about the leaf only');
});

t.test('DANE-TA: a certificate of the chain above the leaf, by certificate or key', async (t) => {
  const byIntermediate = tlsa(2, 0, 1, sha256(der(intermediate)));
  t.same(matchDane([byIntermediate], chain, ['mx.example.test'], now), { kind: 'matched', record: byIntermediate, depth: 1, how: 'trust-anchor' });
  const byRootKey = tlsa(2, 1, 1, sha256(spki(root)));
  t.same(matchDane([byRootKey], fullChain, ['MX.Example.Test.'], now), { kind: 'matched', record: byRootKey, depth: 2, how: 'trust-anchor' }, 'the root, sent by the server');
  t.match(matchDane([byRootKey], chain, ['mx.example.test'], now), { kind: 'failed', reason: /^no TLSA record matched/ }, 'a digest of a root the server does not send matches nothing');
  t.match(matchDane([tlsa(2, 1, 1, sha256(spki(leaf)))], chain, ['mx.example.test'], now), { kind: 'failed' }, 'a DANE-TA record does not match the leaf itself');
});

t.test('DANE-TA: a full public key (2 1 0) that signed the top of the chain stands in for an anchor not sent', async (t) => {
  const rootKey = tlsa(2, 1, 0, spki(root));
  t.same(matchDane([rootKey], chain, ['mx.example.test'], now), { kind: 'matched', record: rootKey, depth: 2, how: 'trust-anchor-key' });
  const intermediateKey = tlsa(2, 1, 0, spki(intermediate));
  t.same(matchDane([intermediateKey], [der(leaf)], ['mx.example.test'], now), { kind: 'matched', record: intermediateKey, depth: 1, how: 'trust-anchor-key' });
  t.match(matchDane([tlsa(2, 1, 0, spki(stranger))], chain, ['mx.example.test'], now), { kind: 'failed' }, 'a key that signed nothing here');
  t.match(matchDane([tlsa(2, 1, 0, Buffer.from('not a key'))], chain, ['mx.example.test'], now), { kind: 'failed' }, 'data that is no key');
  const rsaKey = tlsa(2, 1, 0, spki(await makeCa('RSA anchor', { keyType: 'rsa' })));
  t.match(matchDane([rsaKey], chain, ['mx.example.test'], now), { kind: 'failed', reason: /^no TLSA record matched/ }, 'an RSA key under ECDSA signatures: no match, no error');
});

t.test('DANE-TA: the leaf must name the MX host (or its CNAME-expanded name)', async (t) => {
  const anchor = tlsa(2, 0, 1, sha256(der(intermediate)));
  t.match(matchDane([anchor], chain, ['mx.other.test'], now), {
    kind: 'failed',
    reason: /^trust anchor 2 0 1 [0-9a-f]{16}… at depth 1: the certificate names none of mx\.other\.test \(it has DNS:mx\.example\.test\)$/,
  });
  t.match(matchDane([anchor], chain, ['alias.other.test', 'mx.example.test'], now), { kind: 'matched' }, 'any of the reference names');

  const wildcard = await makeCert({ names: ['*.example.test'], ca: intermediate });
  const wildChain = [der(wildcard), der(intermediate)];
  t.match(matchDane([anchor], wildChain, ['mx.example.test'], now), { kind: 'matched' }, '*.example.test covers one label');
  t.match(matchDane([anchor], wildChain, ['a.mx.example.test'], now), { kind: 'failed' }, 'not two');
  t.match(matchDane([anchor], wildChain, ['example.test'], now), { kind: 'failed' }, 'nor none');
  const partial = await makeCert({ names: ['mx*.example.test'], ca: intermediate });
  t.match(matchDane([anchor], [der(partial), der(intermediate)], ['mx1.example.test'], now), { kind: 'failed' }, 'a wildcard only as the whole left-most label (RFC 7672 3.2.3)');
});

t.test('DANE-TA: the chain below the anchor within its dates; the anchor itself is not date-checked', async (t) => {
  const anchor = tlsa(2, 0, 1, sha256(der(intermediate)));
  const expired = await makeCert({ names: ['mx.example.test'], ca: intermediate, notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - DAY) });
  t.match(matchDane([anchor], [der(expired), der(intermediate)], ['mx.example.test'], now), { kind: 'failed', reason: /the certificate at depth 0 expired \d{4}-/ });
  const early = await makeCert({ names: ['mx.example.test'], ca: intermediate, notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 30 * DAY) });
  t.match(matchDane([anchor], [der(early), der(intermediate)], ['mx.example.test'], now), { kind: 'failed', reason: /the certificate at depth 0 is not valid before/ });
  const afterLeaf = new Date(new Date(new X509Certificate(leaf.cert).validTo).getTime() + DAY);
  t.match(matchDane([anchor], chain, ['mx.example.test'], afterLeaf), { kind: 'failed', reason: /the certificate at depth 0 expired/ }, 'judged at `now`');

  const oldIntermediate = await makeCa('expired intermediate', { issuer: root, notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - DAY) });
  const underOld = await makeCert({ names: ['mx.example.test'], ca: oldIntermediate });
  const oldChain = [der(underOld), der(oldIntermediate), der(root)];
  t.match(matchDane([tlsa(2, 0, 1, sha256(der(root)))], oldChain, ['mx.example.test'], now), { kind: 'failed', reason: /the certificate at depth 1 expired/ }, 'an expired intermediate under the anchor');
  t.match(matchDane([tlsa(2, 0, 1, sha256(der(oldIntermediate)))], oldChain, ['mx.example.test'], now), { kind: 'matched', depth: 1 }, 'the expired intermediate as the anchor');
});

t.test('DANE-TA: each certificate signed by the next, which must be a CA', async (t) => {
  const otherIntermediate = await makeCa('another intermediate', { issuer: root });
  const anchor = tlsa(2, 0, 1, sha256(der(otherIntermediate)));
  t.match(matchDane([anchor], [der(leaf), der(otherIntermediate)], ['mx.example.test'], now), {
    kind: 'failed',
    reason: /the certificate at depth 0 was not issued by the one at depth 1/,
  });
  t.match(matchDane([tlsa(2, 0, 1, sha256(der(root)))], [der(leaf), der(otherIntermediate), der(root)], ['mx.example.test'], now), { kind: 'failed', reason: /depth 0 was not issued by the one at depth 1/ }, 'a wrong intermediate between leaf and anchor');
  // named as issued by the other intermediate, signed with this one's key
  const misnamed = await makeCert({ names: ['mx.example.test'], ca: { key: intermediate.key, cert: otherIntermediate.cert } });
  t.match(matchDane([tlsa(2, 0, 1, sha256(der(intermediate)))], [der(misnamed), der(intermediate)], ['mx.example.test'], now), { kind: 'failed', reason: /depth 0 was not issued by the one at depth 1/ }, 'a signature that verifies is not enough: the names must chain');
  // named as issued by this intermediate, signed with another key
  const forged = await makeCert({ names: ['mx.example.test'], ca: { key: otherIntermediate.key, cert: intermediate.cert } });
  t.match(matchDane([tlsa(2, 0, 1, sha256(der(intermediate)))], [der(forged), der(intermediate)], ['mx.example.test'], now), { kind: 'failed', reason: /depth 0 is not signed by the one at depth 1/ }, 'names that chain are not enough: the signature must verify');
  const issuedByLeaf = await makeCert({ names: ['mx.example.test'], ca: leaf });
  t.match(matchDane([tlsa(2, 0, 1, sha256(der(leaf)))], [der(issuedByLeaf), der(leaf)], ['mx.example.test'], now), { kind: 'failed', reason: /the certificate at depth 1 is not a CA/ });
});

t.test('DANE-EE is preferred; no certificate or an unreadable one fails', async (t) => {
  const ee = tlsa(3, 1, 1, sha256(spki(leaf)));
  t.match(matchDane([tlsa(2, 0, 1, sha256(der(intermediate))), ee], chain, ['mx.example.test'], now), { kind: 'matched', record: ee, how: 'leaf' });
  t.same(matchDane([ee], [], ['mx.example.test'], now), { kind: 'failed', reason: 'the server presented no certificate' });
  t.same(matchDane([ee], [der(leaf), Buffer.from('junk')], ['mx.example.test'], now), { kind: 'failed', reason: 'the certificate at depth 1 cannot be read' });
});
