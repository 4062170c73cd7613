// OCSP requests and responses as `openssl ocsp` writes and reads them, read by the relay's own reader.
import { X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ocspRequestFor } from '../../src/tls/ocsp/ocspRequest.js';
import { readOcspResponse } from '../../src/tls/ocsp/ocspResponse.js';
import { makeOcspResponse, opensslCertificate, type KeyPair } from '../helpers/pki.js';
import { needsTool } from '../helpers/tools.js';

const run = promisify(execFile);
const MINUTE = 60_000;
const x509 = (pair: KeyPair): X509Certificate => new X509Certificate(pair.cert);

t.test('OCSP with openssl', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const ca = await opensslCertificate({ subject: '/CN=Partner CA/O=Fabrikam', ca: true });
  // a serial whose first octet has the high bit set: its DER INTEGER carries a leading zero
  const leaf = await opensslCertificate({ subject: '/CN=mx.partner.test', issuer: ca, serial: '80ab12' });
  const other = await opensslCertificate({ subject: '/CN=mx2.partner.test', issuer: ca });
  const otherCa = await opensslCertificate({ subject: '/CN=Other CA', ca: true });
  const now = (): Date => new Date();
  const read = (der: Buffer, at = now()): ReturnType<typeof readOcspResponse> => readOcspResponse(der, x509(leaf), x509(ca), at);

  t.test('the request is the one openssl ocsp makes', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'tlsrelay-ocsp-request-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'leaf.crt'), leaf.cert);
    await run('openssl', ['ocsp', '-issuer', join(dir, 'ca.crt'), '-cert', join(dir, 'leaf.crt'), '-no_nonce', '-reqout', join(dir, 'request.der')]);
    t.same(ocspRequestFor(x509(leaf), x509(ca)).toString('hex'), (await readFile(join(dir, 'request.der'))).toString('hex'));
  });

  t.test('good, with and without nextUpdate', async (t) => {
    const plain = read(await makeOcspResponse(ca, leaf));
    t.match(plain, { kind: 'good', thisUpdate: Date });
    t.notOk('nextUpdate' in plain, 'no nextUpdate when the responder gives none');
    const dated = read(await makeOcspResponse(ca, leaf, { minutes: 5 }));
    t.equal(dated.kind, 'good');
    const next = dated.kind === 'good' ? dated.nextUpdate!.getTime() : 0;
    t.ok(Math.abs(next - (Date.now() + 5 * MINUTE)) < MINUTE, 'nextUpdate five minutes on');
  });

  t.test('revoked, with its date and reason', async (t) => {
    const revokedAt = new Date(Math.floor((Date.now() - 86_400_000) / 1000) * 1000);
    t.match(read(await makeOcspResponse(ca, leaf, { index: [{ certificate: leaf, revokedAt, reason: 'keyCompromise' }] })), { kind: 'revoked', revokedAt, reason: 'keyCompromise' });
    const plain = read(await makeOcspResponse(ca, leaf, { index: [{ certificate: leaf, revokedAt }] }));
    t.match(plain, { kind: 'revoked', revokedAt });
    t.notOk('reason' in plain, 'no reason when the CA gives none');
  });

  t.test('unknown is told apart from good (both are NULL in the DER)', async (t) => {
    t.match(read(await makeOcspResponse(ca, leaf, { index: [{ certificate: other }] })), { kind: 'unknown', thisUpdate: Date });
  });

  t.test('signed by another key than the issuer: invalid', async (t) => {
    t.same(read(await makeOcspResponse(ca, leaf, { signer: otherCa })), {
      kind: 'invalid',
      reason: "the responder certificate CN=Other CA that signed the response was not issued by the certificate's issuer (CN=Partner CA, O=Fabrikam)",
    });
    t.same(read(await makeOcspResponse(ca, leaf, { signer: otherCa, noCerts: true })), {
      kind: 'invalid',
      reason: 'the response is signed neither by the issuer (CN=Partner CA, O=Fabrikam) nor by a responder certificate it includes',
    });
  });

  t.test('a delegated responder needs the issuer signature and OCSPSigning', async (t) => {
    const delegated = await opensslCertificate({ subject: '/CN=Partner OCSP', issuer: ca, extensions: ['extendedKeyUsage = OCSPSigning'] });
    t.match(read(await makeOcspResponse(ca, leaf, { signer: delegated })), { kind: 'good' }, 'with the EKU: good');
    const plain = await opensslCertificate({ subject: '/CN=Partner Web', issuer: ca, extensions: ['extendedKeyUsage = serverAuth'] });
    t.same(read(await makeOcspResponse(ca, leaf, { signer: plain })), {
      kind: 'invalid',
      reason: 'the responder certificate CN=Partner Web lacks the extended key usage OCSPSigning',
    });
    const foreign = await opensslCertificate({ subject: '/CN=Foreign OCSP', issuer: otherCa, extensions: ['extendedKeyUsage = OCSPSigning'] });
    t.same(read(await makeOcspResponse(ca, leaf, { signer: foreign })), {
      kind: 'invalid',
      reason: 'the responder certificate CN=Foreign OCSP that signed the response was not issued by the certificate\'s issuer (CN=Partner CA, O=Fabrikam)',
    });
  });

  t.test('RSA and ECDSA-SHA384 signatures', async (t) => {
    const rsaCa = await opensslCertificate({ subject: '/CN=RSA CA', ca: true, newKey: 'rsa:2048' });
    const rsaLeaf = await opensslCertificate({ subject: '/CN=mx.rsa.test', issuer: rsaCa, newKey: 'rsa:2048' });
    t.match(readOcspResponse(await makeOcspResponse(rsaCa, rsaLeaf), x509(rsaLeaf), x509(rsaCa), now()), { kind: 'good' }, 'sha256WithRSAEncryption');
    t.match(read(await makeOcspResponse(ca, leaf, { digest: 'sha384' })), { kind: 'good' }, 'ecdsa-with-SHA384');
  });

  t.test('out of date: thisUpdate ahead beyond 5 minutes, nextUpdate past', async (t) => {
    const response = await makeOcspResponse(ca, leaf, { minutes: 5 });
    t.match(read(response, new Date(Date.now() - 10 * MINUTE)), { kind: 'invalid', reason: /^thisUpdate .* is in the future$/ });
    t.match(read(response, new Date(Date.now() - 4 * MINUTE)), { kind: 'good' }, 'within the skew');
    t.match(read(response, new Date(Date.now() + 6 * MINUTE)), { kind: 'invalid', reason: /^the response expired at .* \(nextUpdate\)$/ });
  });

  t.test('a response about another certificate', async (t) => {
    const response = await makeOcspResponse(ca, other);
    t.same(readOcspResponse(response, x509(leaf), x509(ca), now()), { kind: 'invalid', reason: `the response has no status for serial ${x509(leaf).serialNumber}` });
    t.match(readOcspResponse(response, x509(other), x509(ca), now()), { kind: 'good' });
  });

  t.test('not a successful response, or not DER', async (t) => {
    // OCSPResponse { responseStatus tryLater }, as a responder under load sends it
    t.same(read(Buffer.from('30030a0103', 'hex')), { kind: 'invalid', reason: 'the responder answered tryLater' });
    t.same(read(Buffer.from('30030a0100', 'hex')), { kind: 'invalid', reason: 'a successful response without a body' });
    t.match(read(Buffer.from('<html>busy</html>')), { kind: 'invalid', reason: /^malformed OCSP response: / });
    const good = await makeOcspResponse(ca, leaf);
    t.match(read(good.subarray(0, good.length - 10)), { kind: 'invalid', reason: /^malformed OCSP response: / }, 'truncated');
  });
});
