// The listeners' TLS: implicit TLS and STARTTLS with the configured certificate, TLS 1.2
// as the floor, forward-secret suites only, no client-initiated renegotiation.
import t from 'tap';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { Socket } from 'node:net';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

/** Opens an implicit-TLS connection with the given client options; resolves with the socket or the handshake error. */
async function handshake(port: number, options: ConnectionOptions): Promise<TLSSocket | Error> {
  const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
  try {
    await once(socket, 'secureConnect');
    return socket;
  } catch (err) {
    return err as Error;
  }
}

t.test('implicit TLS and STARTTLS listeners', async (t) => {
  const sink = await startSink({ tls: 'none' });
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `server: { hostname: relay.test }
listeners:
  - { name: starttls, port: 0, tls: starttls }
  - { name: implicit, port: 0, tls: implicit }
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: all, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const implicitPort = await relay.port('implicit');
  const starttlsPort = await relay.port('starttls');

  const viaImplicit = await submit({ port: implicitPort, tls: 'implicit', from: 'a@client.test', to: ['x@example.test'], data: sampleMessage('implicit') });
  t.match(viaImplicit, { ok: true }, 'implicit TLS listener takes mail');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'delivery');
  t.match(sink.received[0]!.data, /with ESMTPS \(version=TLSv1\.3 /, 'the Received header names the implicit TLS hop');

  const served = await handshake(implicitPort, {});
  t.ok(!(served instanceof Error), 'handshake with defaults');
  if (!(served instanceof Error)) {
    t.match(served.getPeerCertificate().subject, { CN: 'relay.test' }, 'the configured certificate is served');
    served.destroy();
  }

  const tls11 = await handshake(implicitPort, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  t.type(tls11, Error, 'TLS 1.1 is refused');

  const tls12 = await handshake(implicitPort, { maxVersion: 'TLSv1.2' });
  t.ok(!(tls12 instanceof Error), 'TLS 1.2 is accepted');
  if (!(tls12 instanceof Error)) {
    t.match(tls12.getCipher().name, /^ECDHE-/, `TLS 1.2 suite is forward secret (${tls12.getCipher().name})`);
    t.match(tls12.getEphemeralKeyInfo(), { type: 'ECDH' }, 'ephemeral key exchange');
    // client-initiated renegotiation is refused (SSL_OP_NO_RENEGOTIATION on the listener)
    const renegotiated = await new Promise<Error | null>((resolve) => {
      tls12.once('error', resolve);
      tls12.renegotiate({}, (err) => resolve(err ?? null));
    });
    t.type(renegotiated, Error, 'renegotiation is refused');
    tls12.destroy();
  }

  const staticRsa = await handshake(implicitPort, { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' });
  t.type(staticRsa, Error, 'a client offering only suites without forward secrecy is refused');

  // STARTTLS listener: plaintext greeting, STARTTLS advertised
  const plain = new Socket();
  plain.connect(starttlsPort, '127.0.0.1');
  let text = '';
  plain.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await once(plain, 'data');
  plain.write('EHLO client.test\r\n');
  while (!/\r\n250 /.test(text)) await once(plain, 'data');
  t.match(text, /^220 relay\.test ESMTP/);
  t.match(text, /250-STARTTLS\r\n/, 'STARTTLS is offered');
  t.notMatch(text, /AUTH/, 'no AUTH on a listener without auth');
  plain.destroy();
});
