// tls.certificates on a real relay: an RSA and an ECDSA pair for the relay's name served
// side by side, the client's signature algorithms (or TLS 1.2 suite) choosing — seen by
// openssl s_client and Node's tls.connect, on an implicit-TLS and a STARTTLS listener —
// a third pair for another name that SNI chooses, and the client certificate an
// outbound connector names presented to a next hop that asks for one.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeCert, type KeyPair } from '../helpers/pki.js';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig, type LogLine } from '../helpers/relayProcess.js';
import { fingerprintForOpenssl, fingerprintOf, servedFingerprint } from '../helpers/servedCertificate.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { needsTool } from '../helpers/tools.js';

const rsa = await makeCert({ names: ['relay.test'], keyType: 'rsa' });
const ecdsa = await makeCert({ names: ['relay.test'] });
const gateway = await makeCert({ names: ['gw.fabrikam.test'] });

function writePair(dir: string, name: string, pair: KeyPair): void {
  writeFileSync(join(dir, `${name}.crt`), pair.cert);
  writeFileSync(join(dir, `${name}.key`), pair.key);
}

t.test('several certificates on one relay', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const dir = t.testdir();
  writePair(dir, 'rsa', rsa);
  writePair(dir, 'ecdsa', ecdsa);
  writePair(dir, 'gw', gateway);
  const sink = await startSink({ tls: 'starttls', requestCert: true });
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners:
  - { name: smtp, port: 0, tls: starttls }
  - { name: smtps, port: 0, tls: implicit }
tls:
  certificates:
    - { name: rsa, cert: rsa.crt, key: rsa.key }
    - { name: ecdsa, cert: ecdsa.crt, key: ecdsa.key }
    - { name: fabrikam, cert: gw.crt, key: gw.key }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: fabrikam, domains: [fabrikam.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: encrypt, clientCertificate: fabrikam }
  - { name: contoso, domains: [contoso.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: encrypt, clientCertificate: true }
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const smtps = await relay.port('smtps');
  const smtp = await relay.port('smtp');

  t.test('RSA or ECDSA: the client chooses by what it can verify', async (t) => {
    for (const [port, starttls] of [[smtps, false], [smtp, true]] as const) {
      const where = starttls ? 'after STARTTLS' : 'implicit TLS';
      t.equal(await fingerprintForOpenssl(port, ['-noservername', '-sigalgs', 'ecdsa_secp256r1_sha256'], starttls), fingerprintOf(ecdsa), `${where}: TLS 1.3, ECDSA signatures only: the ECDSA pair`);
      t.equal(await fingerprintForOpenssl(port, ['-noservername', '-sigalgs', 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256'], starttls), fingerprintOf(rsa), `${where}: TLS 1.3, RSA signatures only: the RSA pair`);
      t.equal(await fingerprintForOpenssl(port, ['-noservername', '-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'], starttls), fingerprintOf(rsa), `${where}: TLS 1.2, an RSA suite: the RSA pair`);
      t.equal(await fingerprintForOpenssl(port, ['-noservername', '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'], starttls), fingerprintOf(ecdsa), `${where}: TLS 1.2, an ECDSA suite: the ECDSA pair`);
    }
    t.equal(await servedFingerprint(smtps, { sigalgs: 'rsa_pss_rsae_sha256' }), fingerprintOf(rsa), "Node's client, RSA signatures only: the RSA pair");
    t.equal(await servedFingerprint(smtps, { sigalgs: 'ecdsa_secp256r1_sha256' }), fingerprintOf(ecdsa), "Node's client, ECDSA signatures only: the ECDSA pair");
  });

  t.test('SNI: the pair that holds the name asked for; no match, the first ones', async (t) => {
    t.equal(await servedFingerprint(smtps, { servername: 'gw.fabrikam.test' }), fingerprintOf(gateway), 'gw.fabrikam.test: the pair for it');
    t.equal(await fingerprintForOpenssl(smtp, ['-servername', 'gw.fabrikam.test'], true), fingerprintOf(gateway), 'the same after STARTTLS, asked by openssl');
    t.equal(await servedFingerprint(smtps, { servername: 'relay.test', sigalgs: 'rsa_pss_rsae_sha256' }), fingerprintOf(rsa), "relay.test, RSA only: the relay's RSA pair");
    t.equal(await servedFingerprint(smtps, { servername: 'relay.test', sigalgs: 'ecdsa_secp256r1_sha256' }), fingerprintOf(ecdsa), "relay.test, ECDSA only: the relay's ECDSA pair, not the gateway's");
    t.equal(await servedFingerprint(smtps, { servername: 'unknown.test', sigalgs: 'ecdsa_secp256r1_sha256' }), fingerprintOf(ecdsa), 'a name no pair holds: as without SNI');
    t.equal(await servedFingerprint(smtps, { servername: 'unknown.test', sigalgs: 'rsa_pss_rsae_sha256' }), fingerprintOf(rsa), 'a name no pair holds, RSA only: the first pair');
  });

  t.test('outbound: the client certificate the connector names, or the first', async (t) => {
    const submitted = await submit({ port: smtp, from: 'sender@client.test', to: ['a@fabrikam.test', 'b@contoso.test'], data: sampleMessage('client certificates') });
    if (!submitted.ok) throw new Error(`the relay refused the message: ${submitted.response}`);
    const delivered = (domain: string) => (line: LogLine) => line.msg === 'delivery attempt' && line.domain === domain && line.outcome === 'delivered';
    await Promise.all([relay.waitForLog(delivered('fabrikam.test'), 'the delivery to fabrikam.test'), relay.waitForLog(delivered('contoso.test'), 'the delivery to contoso.test')]);
    const presented = (to: string) => sink.received.find((message) => message.to.includes(to))?.clientCertificate;
    t.equal(presented('a@fabrikam.test'), 'gw.fabrikam.test', 'clientCertificate: fabrikam presented that pair');
    t.equal(presented('b@contoso.test'), 'relay.test', 'clientCertificate: true presented the first pair');
  });

  t.test('one pair of the list replaced: that one is swapped, the others keep serving', async (t) => {
    const renewed = await makeCert({ names: ['relay.test'] });
    writePair(dir, 'ecdsa-new', renewed);
    renameSync(join(dir, 'ecdsa-new.key'), join(dir, 'ecdsa.key'));
    renameSync(join(dir, 'ecdsa-new.crt'), join(dir, 'ecdsa.crt'));
    const swapped = await relay.waitForLog((line) => line.msg === 'certificate loaded: new sessions get it' && line.certificate === 'ecdsa' && line.cert === join(dir, 'ecdsa.crt'), 'the swap of the ECDSA pair');
    t.equal(swapped.fingerprint, `sha256:${fingerprintOf(renewed).replace(/:/g, '').toLowerCase()}`, 'the swap line names the pair and the new fingerprint');
    t.equal(await servedFingerprint(smtps, { sigalgs: 'ecdsa_secp256r1_sha256' }), fingerprintOf(renewed), 'ECDSA clients get the new pair');
    t.equal(await servedFingerprint(smtps, { sigalgs: 'rsa_pss_rsae_sha256' }), fingerprintOf(rsa), 'RSA clients still the RSA pair');
    t.equal(await servedFingerprint(smtps, { servername: 'gw.fabrikam.test' }), fingerprintOf(gateway), 'and SNI still finds the gateway pair');
    t.equal(relay.logs.filter((line) => line.msg === 'certificate loaded: new sessions get it' && line.certificate !== 'ecdsa').length, 0, 'no other pair was swapped');
  });
});
