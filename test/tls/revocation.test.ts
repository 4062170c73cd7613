// CRLs made by `openssl ca`, read by the relay's own reader and applied per issuer.
import { X509Certificate } from 'node:crypto';
import { Extension, X509CrlGenerator, type X509CrlEntryParams } from '@peculiar/x509';
import { join } from 'node:path';
import t from 'tap';
import { issuerAndSerial, parseCrlFile, type RevocationList } from '../../src/tls/crl.js';
import { loadTlsMaterial } from '../../src/tls/material.js';
import { checkRevocation } from '../../src/tls/revocation.js';
import { testConfig, testConnector } from '../helpers/testConfig.js';
import { makeCa, makeCert, makeCrl, type KeyPair } from '../helpers/pki.js';

const DAY = 86_400_000;
const now = new Date();
const x509 = (pair: KeyPair): X509Certificate => new X509Certificate(pair.cert);
const crlOf = async (ca: KeyPair, revoked: KeyPair[] = [], nextUpdate?: Date): Promise<RevocationList[]> =>
  parseCrlFile(await makeCrl(ca, { revoked: revoked.map((pair) => pair.cert), ...(nextUpdate ? { nextUpdate } : {}) }), 'test.crl');

const root = await makeCa('Partner Root');
const intermediate = await makeCa('Partner Issuing CA', { issuer: root });
const leaf = await makeCert({ names: ['mx.partner.test'], ca: intermediate });
const sibling = await makeCert({ names: ['mx2.partner.test'], ca: intermediate });
const chain = [x509(leaf), x509(intermediate), x509(root)];

t.test('reads what openssl ca writes', async (t) => {
  const [crl] = await crlOf(intermediate, [leaf]);
  t.ok(crl!.issuer.equals(issuerAndSerial(x509(leaf).raw).issuer), "the issuer, as the leaf's certificate names it");
  // OpenSSL's own reading of the serial, through Node
  t.same([...crl!.revoked], [x509(leaf).serialNumber.toLowerCase().replace(/^(00)+/, '')], 'the revoked serial');
  t.ok(crl!.thisUpdate < now && crl!.nextUpdate! > now, 'thisUpdate and nextUpdate read');
  t.equal(crl!.signatureAlgorithm, '1.2.840.10045.4.3.2', 'ecdsa-with-SHA256');
});

t.test('a CRL applies to the certificates its issuer signed', async (t) => {
  t.same(checkRevocation(chain, await crlOf(intermediate, [leaf]), now), { kind: 'failed', code: 'CERT_REVOKED', reason: 'certificate has been revoked (CERT_REVOKED)' });
  t.same(checkRevocation([x509(sibling), x509(intermediate), x509(root)], await crlOf(intermediate, [leaf]), now), { kind: 'good' }, 'a certificate not listed is good');
  t.same(
    checkRevocation(chain, await crlOf(root, [intermediate]), now),
    { kind: 'failed', code: 'CERT_REVOKED', reason: 'the certificate of CA CN=Partner Issuing CA has been revoked (CERT_REVOKED)' },
    'a revoked intermediate fails every chain through it',
  );
});

t.test('a certificate whose issuer has no CRL here is not checked', async (t) => {
  const otherCa = await makeCa('Other Partner CA');
  const other = await makeCert({ names: ['mx.other.test'], ca: otherCa });
  t.same(checkRevocation([x509(other), x509(otherCa)], await crlOf(intermediate, [leaf]), now), { kind: 'good' }, 'another CA: good without a CRL of its own');
  t.same(checkRevocation(chain, await crlOf(root), now), { kind: 'good' }, 'the root lists nothing, the issuing CA has no CRL: good');
  t.same(checkRevocation(chain, [], now), { kind: 'good' }, 'no CRLs at all');
});

t.test('a CRL out of date fails the certificates it covers', async (t) => {
  const expired = await crlOf(intermediate, [], new Date(Date.now() - DAY));
  const status = checkRevocation(chain, expired, now);
  t.match(status, { kind: 'failed', code: 'CRL_HAS_EXPIRED' });
  t.match(status.kind === 'failed' ? status.reason : '', /^the CRL for CN=Partner Issuing CA in test\.crl expired \d{4}-\d\d-\d\dT.*Z \(CRL_HAS_EXPIRED\)$/);
  t.same(checkRevocation(chain, [...expired, ...(await crlOf(intermediate))], now), { kind: 'good' }, 'a current CRL of the same issuer next to it is enough');
  t.match(checkRevocation(chain, await crlOf(intermediate), new Date(Date.now() - 2 * 3_600_000)), { kind: 'failed', code: 'CRL_NOT_YET_VALID' }, 'a CRL from the future');
});

t.test('a CRL under the issuer name but not signed by its key fails closed', async (t) => {
  const impostor = await makeCa('Partner Issuing CA');
  const status = checkRevocation(chain, await crlOf(impostor), now);
  t.same(status, { kind: 'failed', code: 'CRL_SIGNATURE_FAILURE', reason: 'the CRL for CN=Partner Issuing CA in test.crl is not signed by that CA (CRL_SIGNATURE_FAILURE)' });
});

t.test('RSA CAs', async (t) => {
  const rsaCa = await makeCa('RSA CA', { keyType: 'rsa' });
  const rsaLeaf = await makeCert({ names: ['mx.rsa.test'], ca: rsaCa, keyType: 'rsa' });
  const crls = await crlOf(rsaCa, [rsaLeaf]);
  t.equal(crls[0]!.signatureAlgorithm, '1.2.840.113549.1.1.11', 'sha256WithRSAEncryption');
  t.match(checkRevocation([x509(rsaLeaf), x509(rsaCa)], crls, now), { kind: 'failed', code: 'CERT_REVOKED' });
});

t.test('CRL files', async (t) => {
  const first = await makeCrl(intermediate, { revoked: [leaf.cert] });
  const bundle = first + (await makeCrl(root));
  t.equal(parseCrlFile(bundle, 'bundle.pem').length, 2, 'every CRL of a PEM bundle');
  t.throws(() => parseCrlFile(leaf.cert, 'leaf.pem'), { message: 'leaf.pem: no PEM CRL ("-----BEGIN X509 CRL-----") found' });
  const broken = '-----BEGIN X509 CRL-----\nMIIBAAAA\n-----END X509 CRL-----\n';
  t.throws(() => parseCrlFile(broken, 'broken.crl'), { message: /^broken\.crl: not a usable CRL: / });
  const der = Buffer.from(first.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
  const truncated = `-----BEGIN X509 CRL-----\n${der.subarray(0, der.length - 10).toString('base64')}\n-----END X509 CRL-----\n${await makeCrl(root)}`;
  t.throws(() => parseCrlFile(truncated, 'truncated.crl'), { message: 'truncated.crl (CRL 1 of 2): not a usable CRL: truncated DER' });
});

// openssl ca cannot write these two kinds, so the library the relay reads CRLs with writes them
const generatedCrl = async (options: { extensions?: Extension[]; entries?: X509CrlEntryParams[] }): Promise<string> => {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const crl = await X509CrlGenerator.create({
    issuer: 'CN=Partner Issuing CA',
    nextUpdate: new Date(Date.now() + DAY),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    signingKey: keys.privateKey,
    ...options,
  });
  // the library's own PEM label is "CRL"; OpenSSL and the relay read "X509 CRL"
  return `-----BEGIN X509 CRL-----\n${crl.toString('base64')}\n-----END X509 CRL-----\n`;
};

t.test('a delta CRL is refused at load: it lists only what changed since a base CRL', async (t) => {
  // Delta CRL Indicator, critical as RFC 5280 has it, naming base CRL number 1 (DER INTEGER 1)
  const delta = await generatedCrl({ extensions: [new Extension('2.5.29.27', true, new Uint8Array([0x02, 0x01, 0x01]))] });
  t.throws(() => parseCrlFile(delta, 'delta.crl'), { message: 'delta.crl: not a usable CRL: critical extension 2.5.29.27 is not supported' });
  t.equal(parseCrlFile(await generatedCrl({}), 'full.crl').length, 1, 'the same CRL without the indicator is read');
});

t.test('an indirect CRL is refused at load, even with its Certificate Issuer entries not marked critical', async (t) => {
  const indirect = await generatedCrl({ entries: [{ serialNumber: '0102', issuer: 'CN=Another CA' }] });
  t.throws(() => parseCrlFile(indirect, 'indirect.crl'), { message: 'indirect.crl: not a usable CRL: extension 2.5.29.29 is not supported' });
  const direct = await generatedCrl({ entries: [{ serialNumber: '0102' }] });
  t.same([...parseCrlFile(direct, 'direct.crl')[0]!.revoked], ['0102'], 'an entry without it is read');
});

t.test('tls.crl is read at load: a file that is no CRL stops the start, naming it', async (t) => {
  const dir = t.testdir({ 'good.crl': await makeCrl(root), 'bad.crl': leaf.cert });
  const { material } = loadTlsMaterial(testConfig({ tls: { ...testConfig().tls, crl: [join(dir, 'good.crl')] } }));
  t.equal(material.crl.length, 1);
  t.throws(() => loadTlsMaterial(testConfig({ tls: { ...testConfig().tls, crl: [join(dir, 'bad.crl')] } })), {
    message: `${join(dir, 'bad.crl')}: no PEM CRL ("-----BEGIN X509 CRL-----") found`,
  });
});

t.test("an outbound connector's crl is checked at load too", async (t) => {
  const dir = t.testdir({ 'bad.crl': leaf.cert });
  const connector = testConnector({ name: 'partner', domains: ['partner.test'], crl: [join(dir, 'bad.crl')] });
  t.throws(() => loadTlsMaterial(testConfig({ outbound: [connector] })), {
    message: `${join(dir, 'bad.crl')}: no PEM CRL ("-----BEGIN X509 CRL-----") found`,
  });
});
