// Which of our certificates a client gets, by the name it asks for (SNI) and, among those,
// one per key type; and which one an outbound connector presents. Handshakes with real
// clients that check the same end to end: test/e2e/certificateRotation.test.ts.
import t from 'tap';
import { certificatesFor, clientCertificateFor, servedBesideOtherKeyType } from '../../src/tls/certificateSelection.js';
import type { ServedCertificate } from '../../src/tls/material.js';
import { makeCert } from '../helpers/pki.js';
import { servedCertificate } from '../helpers/testConfig.js';

const relayRsa = servedCertificate(await makeCert({ names: ['relay.test'], keyType: 'rsa' }), 'relay-rsa');
const relayEc = servedCertificate(await makeCert({ names: ['relay.test', 'alias.test'] }), 'relay-ec');
const gateway = servedCertificate(await makeCert({ names: ['gw.fabrikam.test'] }), 'fabrikam');
const wildcardRsa = servedCertificate(await makeCert({ names: ['*.fabrikam.test'], keyType: 'rsa' }));
const secondRsa = servedCertificate(await makeCert({ names: ['relay.test'], keyType: 'rsa' }), 'relay-rsa-2');
const idn = servedCertificate(await makeCert({ names: ['xn--bcher-kva.test'] }));

const names = (chosen: ServedCertificate[]): Array<string | undefined> => chosen.map((certificate) => certificate.files.name ?? certificate.leaf.subject);

t.test('no SNI: the first certificate, and those of other key types for its first name', async (t) => {
  t.same(names(certificatesFor([relayRsa, relayEc, gateway], undefined)), ['relay-rsa', 'relay-ec'], 'RSA and ECDSA side by side');
  t.same(names(certificatesFor([relayEc, relayRsa], undefined)), ['relay-ec', 'relay-rsa'], 'the order of the list, whichever comes first');
  t.same(names(certificatesFor([gateway, relayRsa, relayEc], undefined)), ['fabrikam'], 'no twin for gw.fabrikam.test: the first alone');
  t.same(names(certificatesFor([relayRsa, secondRsa, relayEc], undefined)), ['relay-rsa', 'relay-ec'], 'one per key type: OpenSSL holds one of each');
  t.same(certificatesFor([], undefined), [], 'no certificates, nothing to serve');
});

t.test('SNI: of each key type, the first that holds the name asked for', async (t) => {
  const list = [relayRsa, relayEc, gateway, wildcardRsa];
  t.same(names(certificatesFor(list, 'gw.fabrikam.test')), ['fabrikam', 'CN=*.fabrikam.test'], 'the exact name, and an RSA wildcard for it');
  t.same(names(certificatesFor(list, 'mx.fabrikam.test')), ['CN=*.fabrikam.test'], 'a wildcard covers one label');
  t.same(names(certificatesFor(list, 'ALIAS.test')), ['relay-ec'], 'case does not matter; a name only the ECDSA pair holds');
  t.same(names(certificatesFor(list, 'a.b.fabrikam.test')), ['relay-rsa', 'relay-ec'], 'a wildcard does not cover two labels: no match, the default');
  t.same(names(certificatesFor(list, 'unknown.test')), ['relay-rsa', 'relay-ec'], 'a name none holds: as without SNI');
  t.same(names(certificatesFor([relayRsa, idn], 'bücher.test')), ['CN=xn--bcher-kva.test'], 'smtp-server hands over the Unicode form of the name');
});

t.test('outbound: true presents the first, a name the pair so named, false none', async (t) => {
  const list = [relayRsa, relayEc, gateway];
  t.equal(clientCertificateFor(list, true), relayRsa);
  t.equal(clientCertificateFor(list, 'fabrikam'), gateway);
  t.equal(clientCertificateFor(list, false), undefined);
  t.equal(clientCertificateFor(list, 'gone'), undefined, 'a name no loaded pair has (the config refuses it)');
  t.equal(clientCertificateFor([], true), undefined);
});

t.test('served beside another key type: what a handshake cannot staple for (one staple, chosen before the key type is)', async (t) => {
  const list = [relayRsa, relayEc, gateway, wildcardRsa, secondRsa];
  t.ok(servedBesideOtherKeyType(relayRsa, list), 'RSA and ECDSA for relay.test');
  t.ok(servedBesideOtherKeyType(relayEc, list), 'either of them');
  t.ok(servedBesideOtherKeyType(gateway, list), 'gw.fabrikam.test beside the RSA wildcard that holds it');
  t.ok(servedBesideOtherKeyType(wildcardRsa, list), 'and the wildcard beside it');
  t.notOk(servedBesideOtherKeyType(relayRsa, [relayRsa, secondRsa, gateway]), 'two of one key type: never in one context');
  t.notOk(servedBesideOtherKeyType(idn, list), 'a name no other certificate holds');
});
