// OCSP stapling on a real relay, against a real `openssl ocsp` responder on loopback: a
// client that asks for the certificate status (openssl s_client -status after STARTTLS,
// Node's requestOCSP on implicit TLS) gets a good response for the served certificate;
// with the responder down at start there is no staple and the session works as ever; a
// staple kept on disk is served after a restart while the responder is still down; a
// revoked certificate gets none; a replaced certificate file gets a staple of its own.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type TLSSocketOptions } from 'node:tls';
import t from 'tap';
import { readOcspResponse } from '../../src/tls/ocsp/ocspResponse.js';
import { startOcspResponder, type OcspResponder } from '../helpers/ocspResponder.js';
import { opensslCertificate, type KeyPair } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { runTool, needsTool } from '../helpers/tools.js';

/** What `openssl s_client -status` says of the staple it got after STARTTLS. */
async function opensslStatus(port: number, servername?: string): Promise<string> {
  const names = servername === undefined ? ['-noservername'] : ['-servername', servername];
  const { output } = await runTool('openssl', ['s_client', '-starttls', 'smtp', '-status', '-connect', `127.0.0.1:${port}`, ...names]);
  return output;
}

/** The staple Node's client got on an implicit-TLS listener, if any. */
async function nodeStaple(port: number, servername?: string): Promise<Buffer | undefined> {
  return (await nodeStapled(port, servername)).staple;
}

/** The certificate Node's client was served (its fingerprint), and the staple with it. */
async function nodeStapled(port: number, servername?: string): Promise<{ served: string; staple: Buffer | undefined }> {
  // requestOCSP is a TLSSocket option that tls.connect passes on; ConnectionOptions leaves it out
  const options: ConnectionOptions & Pick<TLSSocketOptions, 'requestOCSP'> = { host: '127.0.0.1', port, rejectUnauthorized: false, requestOCSP: true, ...(servername ? { servername } : {}) };
  const socket = connect(options);
  let staple: Buffer | undefined;
  socket.on('OCSPResponse', (response: Buffer | undefined) => (staple = response && response.length > 0 ? response : undefined));
  await once(socket, 'secureConnect');
  const served = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return { served, staple };
}

t.test('OCSP stapling', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const dir = t.testdir();
  const port = await freePort();
  const aia = `authorityInfoAccess = OCSP;URI:http://127.0.0.1:${port}/`;
  const ca = await opensslCertificate({ subject: '/CN=Relay CA', ca: true });
  const issue = (name: string): Promise<KeyPair> => opensslCertificate({ subject: `/CN=${name}`, issuer: ca, extensions: [`subjectAltName = DNS:${name}`, aia] });
  const [good, revoked] = await Promise.all([issue('relay.test'), issue('revoked.test')]);
  // the issuer after the leaf, as a CA's bundle comes: the request names it, the response is signed by it
  writeFileSync(join(dir, 'relay.crt'), good.cert + ca.cert);
  writeFileSync(join(dir, 'relay.key'), good.key);
  writeFileSync(join(dir, 'revoked.crt'), revoked.cert + ca.cert);
  writeFileSync(join(dir, 'revoked.key'), revoked.key);
  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners:
  - { name: smtp, port: 0, tls: starttls }
  - { name: smtps, port: 0, tls: implicit }
tls:
  certificates:
    - { cert: relay.crt, key: relay.key }
    - { cert: revoked.crt, key: revoked.key }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
`,
  );
  const cacheFile = join(dir, 'spool', 'cache', 'ocsp', `${new X509Certificate(good.cert).fingerprint256.replace(/:/g, '').toLowerCase()}.der`);
  const running: { relay?: RelayProcess; responder?: OcspResponder } = {};
  t.teardown(async () => {
    await running.relay?.stop();
    await running.responder?.stop();
  });
  const start = async (): Promise<{ relay: RelayProcess; smtp: number; smtps: number }> => {
    const relay = startRelay(config);
    running.relay = relay;
    return { relay, smtp: await relay.port('smtp'), smtps: await relay.port('smtps') };
  };
  const about = (pair: KeyPair, msg: string) => (line: LogLine) => line.msg === msg && line.cert === join(dir, pair === good ? 'relay.crt' : 'revoked.crt');
  const isGood = (staple: Buffer | undefined): string | undefined => (staple === undefined ? undefined : readOcspResponse(staple, new X509Certificate(good.cert), new X509Certificate(ca.cert), new Date()).kind);

  t.test('the responder down at start: no staple, and the session works', async (t) => {
    const { relay, smtp, smtps } = await start();
    const failed = await relay.waitForLog(about(good, 'OCSP staple not fetched'), 'the failed fetch');
    t.match(failed, { reason: /ECONNREFUSED/, stapled: false, retryInSeconds: 60 }, 'said once, with the reason and when it is tried again');
    t.match(await opensslStatus(smtp), /OCSP response: no response sent/, 'openssl: no staple');
    t.equal(await nodeStaple(smtps), undefined, 'Node: no staple');
    const sent = await submit({ port: smtp, from: 'a@client.test', to: ['b@elsewhere.test'], data: sampleMessage('no staple') });
    t.ok(sent.ok, 'mail is taken as ever');
    t.notOk(existsSync(cacheFile), 'nothing cached');
    await relay.stop();
  });

  t.test('the responder up: a good staple for the served certificate, none for a revoked one', async (t) => {
    running.responder = await startOcspResponder({ ca, port, index: [{ certificate: good }, { certificate: revoked, revokedAt: new Date(Date.now() - 60_000), reason: 'keyCompromise' }] });
    const { relay, smtp, smtps } = await start();
    const fetched = await relay.waitForLog(about(good, 'OCSP staple fetched'), 'the staple fetched');
    t.match(fetched, { responder: `http://127.0.0.1:${port}/`, nextUpdate: String });
    const status = await opensslStatus(smtp);
    t.match(status, /OCSP Response Status: successful/, 'openssl, no SNI, after STARTTLS: a staple');
    t.match(status, /Cert Status: good/, 'saying good');
    t.match(await opensslStatus(smtp, 'relay.test'), /Cert Status: good/, 'openssl with SNI: the same');
    t.equal(isGood(await nodeStaple(smtps)), 'good', 'Node on implicit TLS: a staple the relay reads as good for the served certificate');
    const refused = await relay.waitForLog(about(revoked, 'OCSP staple not fetched'), 'the revoked certificate refused');
    t.match(refused, { reason: /revoked at .* \(keyCompromise\)/, stapled: false });
    t.match(await opensslStatus(smtp, 'revoked.test'), /OCSP response: no response sent/, 'the revoked certificate: no staple');
    t.ok(existsSync(cacheFile), 'the good staple is on disk');
    await relay.stop();
    await running.responder.stop();
    running.responder = undefined;
  });

  t.test('a restart with the responder down staples the cached response at once', async (t) => {
    const { relay, smtp, smtps } = await start();
    t.ok(await relay.waitForLog(about(good, 'OCSP staple read from the cache'), 'the cached staple'), 'read back at start');
    t.match(await opensslStatus(smtp), /Cert Status: good/, 'openssl: stapled');
    t.equal(isGood(await nodeStaple(smtps)), 'good', 'Node: stapled');
  });

  t.test('a replaced certificate gets a staple of its own', async (t) => {
    const relay = running.relay!;
    const smtps = await relay.port('smtps');
    const next = await issue('relay.test');
    // only the new one: openssl ocsp refuses an index of two valid entries under one subject
    running.responder = await startOcspResponder({ ca, port, index: [{ certificate: next }] });
    const fetched = relay.waitForNextLog(about(good, 'OCSP staple fetched'), 'the new certificate stapled');
    writeFileSync(join(dir, 'relay.key.new'), next.key);
    writeFileSync(join(dir, 'relay.crt.new'), next.cert + ca.cert);
    renameSync(join(dir, 'relay.key.new'), join(dir, 'relay.key'));
    renameSync(join(dir, 'relay.crt.new'), join(dir, 'relay.crt'));
    await fetched;
    const socket = await nodeStapled(smtps);
    t.equal(socket.served, new X509Certificate(next.cert).fingerprint256, 'the new certificate is served');
    t.equal(socket.staple === undefined ? undefined : readOcspResponse(socket.staple, new X509Certificate(next.cert), new X509Certificate(ca.cert), new Date()).kind, 'good', 'with a good staple for it');
  });
});
