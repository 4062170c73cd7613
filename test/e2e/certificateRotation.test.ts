// Replaced certificate files on a running relay, no restart: written in place, renamed
// over the old ones, and symlinks re-pointed (acme.sh copies, certbot re-links). Each swap is logged with the new
// certificate's subject, notAfter and fingerprint; new sessions get the new one while a
// session open across the swap keeps its own and still carries mail; a key that does not
// fit, or a file that is no certificate, is refused in one log line naming the file and
// the pair loaded before keeps serving. Nothing is timed: each step waits for its log line.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { makeCert, type KeyPair } from '../helpers/pki.js';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { fingerprintOf, servedFingerprint } from '../helpers/servedCertificate.js';
import { sampleMessage } from '../helpers/smtpClient.js';

const LOADED = 'certificate loaded: new sessions get it';
const REFUSED = 'replaced certificate refused; the one loaded before keeps serving';

/** `sha256:` and lower-case hex, as the swap line writes the fingerprint (the form a pin takes). */
const pinOf = (pair: KeyPair): string => `sha256:${fingerprintOf(pair).replace(/:/g, '').toLowerCase()}`;

/** The swap line for `pair`, once it is logged. */
function loaded(relay: RelayProcess, pair: KeyPair): Promise<LogLine> {
  return relay.waitForLog((line) => line.msg === LOADED && line.fingerprint === pinOf(pair), `the swap to ${pinOf(pair)}`);
}

/** A STARTTLS session through nodemailer, left open: it can carry a message later. */
async function openSession(port: number): Promise<SMTPConnection> {
  const connection = new SMTPConnection({ host: '127.0.0.1', port, requireTLS: true, name: 'client.test', tls: { rejectUnauthorized: false } });
  await new Promise<void>((resolve, reject) => {
    connection.once('error', reject);
    connection.connect(() => resolve());
  });
  return connection;
}

/** What the session's TLS socket got from the relay; nodemailer keeps the socket in `_socket`. */
function sessionFingerprint(connection: SMTPConnection): string {
  return (connection as unknown as { _socket: import('node:tls').TLSSocket })._socket.getPeerCertificate().fingerprint256;
}

function send(connection: SMTPConnection, to: string): Promise<string> {
  return new Promise((resolve, reject) => connection.send({ from: 'sender@client.test', to: [to] }, sampleMessage('across the swap'), (err, info) => (err ? reject(err) : resolve(info.response))));
}

t.test('certificates replaced under a running relay', async (t) => {
  const dir = t.testdir();
  const certFile = join(dir, 'relay.crt');
  const keyFile = join(dir, 'relay.key');
  const first = await makeCert({ names: ['relay.test'] });
  writeFileSync(certFile, first.cert);
  writeFileSync(keyFile, first.key);
  const sink = await startSink({ tls: 'none' });
  const configText = (tls: string): string => `server: { hostname: relay.test }
listeners:
  - { name: smtp, port: 0, tls: starttls }
  - { name: smtps, port: 0, tls: implicit }
tls: ${tls}
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`;
  const config = writeConfig(dir, configText('{ cert: relay.crt, key: relay.key }'));
  const relay = startRelay(config);
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const smtps = await relay.port('smtps');
  const smtp = await relay.port('smtp');
  t.equal(await servedFingerprint(smtps), fingerprintOf(first), 'the first certificate is served');
  const acrossSwaps = await openSession(smtp);
  t.teardown(() => acrossSwaps.close());
  t.equal(sessionFingerprint(acrossSwaps), fingerprintOf(first), 'a STARTTLS session opened with the first one');

  t.test('written in place', async (t) => {
    const second = await makeCert({ names: ['relay.test'], notAfter: new Date(Date.now() + 60 * 86_400_000) });
    writeFileSync(keyFile, second.key);
    writeFileSync(certFile, second.cert);
    const line = await loaded(relay, second);
    const leaf = new X509Certificate(second.cert);
    t.match(line, { level: 30, cert: certFile, subject: 'CN=relay.test', notAfter: new Date(leaf.validTo).toISOString() }, "one info line: the new certificate's subject, notAfter and SHA-256 fingerprint");
    t.equal(await servedFingerprint(smtps), fingerprintOf(second), 'a new session gets the new certificate, without a restart');
    t.equal(sessionFingerprint(acrossSwaps), fingerprintOf(first), 'the session open across the swap keeps its own');
    t.match(await send(acrossSwaps, 'user@a.test'), /^250 /, 'and still carries mail');
  });

  t.test('renamed over the old files: an atomic replacement', async (t) => {
    const third = await makeCert({ names: ['relay.test'] });
    writeFileSync(join(dir, 'relay.key.new'), third.key);
    writeFileSync(join(dir, 'relay.crt.new'), third.cert);
    renameSync(join(dir, 'relay.key.new'), keyFile);
    renameSync(join(dir, 'relay.crt.new'), certFile);
    await loaded(relay, third);
    t.equal(await servedFingerprint(smtps), fingerprintOf(third), 'a new session gets the renamed-in certificate');
    const session = await openSession(smtp);
    t.teardown(() => session.close());
    t.equal(sessionFingerprint(session), fingerprintOf(third), 'after STARTTLS too');
    t.equal(sessionFingerprint(acrossSwaps), fingerprintOf(first), 'the session open since the start still has the first');
  });

  t.test('a key that does not fit, or a broken file, is refused and the old pair keeps serving', async (t) => {
    const serving = await servedFingerprint(smtps);
    const stranger = await makeCert({ names: ['relay.test'] });
    const refusedKey = relay.waitForNextLog((line) => line.msg === REFUSED, 'the refusal of the key');
    writeFileSync(keyFile, stranger.key);
    const line = await refusedKey;
    t.match(line, { level: 50, cert: certFile, where: new RegExp(`^${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5:30$`) }, 'one error line, at the key that names the file');
    t.match(line.err, `tls.key ${keyFile} does not fit tls.cert ${certFile}`, 'which file, and why');
    t.notMatch(JSON.stringify(line), /PRIVATE KEY/, 'no key material in the log');
    t.equal(await servedFingerprint(smtps), serving, 'the pair loaded before is still served');

    const refusedCert = relay.waitForNextLog((line) => line.msg === REFUSED, 'the refusal of the broken certificate');
    writeFileSync(certFile, 'not a certificate\n');
    t.match((await refusedCert).err, `${certFile}: no PEM certificate found`, 'a file that is no certificate: named, and why');
    t.equal(await servedFingerprint(smtps), serving, 'still the pair loaded before');

    writeFileSync(certFile, stranger.cert);
    await loaded(relay, stranger);
    t.equal(await servedFingerprint(smtps), fingerprintOf(stranger), 'once the files fit, the new pair is served');
  });

  t.test('symlinks pointed at new files, as a certbot renewal does in its live folder', async (t) => {
    mkdirSync(join(dir, 'archive'));
    const renewed = await makeCert({ names: ['relay.test'] });
    writeFileSync(join(dir, 'archive', 'privkey2.pem'), renewed.key);
    writeFileSync(join(dir, 'archive', 'fullchain2.pem'), renewed.cert);
    // certbot's own way: the old link removed, a new one made in its place
    unlinkSync(keyFile);
    symlinkSync(join('archive', 'privkey2.pem'), keyFile);
    unlinkSync(certFile);
    symlinkSync(join('archive', 'fullchain2.pem'), certFile);
    await loaded(relay, renewed);
    t.equal(await servedFingerprint(smtps), fingerprintOf(renewed), 'the files the links now point at are served');
  });

  t.test('SIGHUP loads the files a new config names at once, and the watch follows them', async (t) => {
    // a new path, in a new folder: only the reload can have read it
    mkdirSync(join(dir, 'next'));
    const moved = await makeCert({ names: ['relay.test'] });
    writeFileSync(join(dir, 'next', 'relay.crt'), moved.cert);
    writeFileSync(join(dir, 'next', 'relay.key'), moved.key);
    writeConfig(dir, configText('{ certificates: [{ cert: next/relay.crt, key: next/relay.key }] }'));
    const reloaded = relay.waitForNextLog((line) => line.msg === 'configuration reloaded', 'the reload');
    relay.child.kill('SIGHUP');
    await reloaded;
    t.match(await loaded(relay, moved), { cert: join(dir, 'next', 'relay.crt') }, 'the swap line names the new file');
    t.equal(await servedFingerprint(smtps), fingerprintOf(moved), 'served from the new path');

    const renewed = await makeCert({ names: ['relay.test'] });
    writeFileSync(join(dir, 'next', 'relay.key'), renewed.key);
    writeFileSync(join(dir, 'next', 'relay.crt'), renewed.cert);
    await loaded(relay, renewed);
    t.equal(await servedFingerprint(smtps), fingerprintOf(renewed), 'a replacement in the new folder is seen without another SIGHUP');
  });
});
