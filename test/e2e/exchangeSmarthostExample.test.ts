// config/examples/exchange-smarthost.yaml, run as shipped. It is copied into a scratch
// folder laid out like the project (its relative paths to certs/ and var/ hold) and
// changed only where a test must: the listener on a loopback port, the trust line its
// comment says to uncomment, the server network as 127.0.0.1, the smart host's port, and
// DNS plus the MX port pointing at loopback peers.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDnsServer } from '../helpers/dnsServer.js';
import { substitute } from '../helpers/docText.js';
import { oneMessage, refusedUntilVerified } from '../helpers/nextHopSwap.js';
import { startSink } from '../helpers/peers.js';
import { makeCa, makeCert, type KeyPair } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { PROJECT_ROOT, startRelay } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

const contosoCa = await makeCa('Contoso internal CA');
const pairs = {
  exchange: await makeCert({ names: ['exchange.contoso.test'], ca: contosoCa }),
  /** Trusted, but for another host of ours. */
  otherName: await makeCert({ names: ['mail.contoso.test'], ca: contosoCa }),
  selfSigned: await makeCert({ names: ['exchange.contoso.test'] }),
};
/** Exchange's address; 127.0.0.2 stands for anyone outside the server network. */
const SERVER_NETWORK = '127.0.0.1';
const OUTSIDE = '127.0.0.2';

t.test('config/examples/exchange-smarthost.yaml: Exchange relays by certificate and network; mail for contoso.test reaches it only verified', async (t) => {
  const root = t.testdir();
  mkdirSync(join(root, 'config', 'examples'), { recursive: true });
  mkdirSync(join(root, 'certs'));
  writeFileSync(join(root, 'certs', 'contoso-ca.crt'), contosoCa.cert);

  const internet = await startSink({ tls: 'starttls' });
  const exchangePort = await freePort();
  const dns = await startDnsServer({
    'exchange.contoso.test': { A: ['127.0.0.1'] },
    'elsewhere.test': { MX: [{ preference: 10, exchange: 'mx.elsewhere.test' }] },
    'mx.elsewhere.test': { A: ['127.0.0.1'] },
  });
  const shipped = readFileSync(join(PROJECT_ROOT, 'config', 'examples', 'exchange-smarthost.yaml'), 'utf8');
  const yaml = substitute(shipped, [
    ['{ name: mx, address: 0.0.0.0, port: 25, tls: starttls }', '{ name: mx, address: 127.0.0.1, port: 0, tls: starttls }'],
    ['  # trust: [../../certs/contoso-ca.crt]', '  trust: [../../certs/contoso-ca.crt]'],
    ['ips: [10.0.0.0/8]', `ips: [${SERVER_NETWORK}/32]`],
    ['smartHosts: [exchange.contoso.test]', `smartHosts: ["exchange.contoso.test:${exchangePort}"]`],
  ]);
  const file = join(root, 'config', 'examples', 'exchange-smarthost.yaml');
  // keys the example leaves to their defaults (a duplicate would fail the load)
  writeFileSync(file, `${yaml}\ndns: { servers: ["127.0.0.1:${dns.port}"] }\ndelivery: { port: ${internet.port} }\n`);

  const relay = startRelay(file, root);
  t.teardown(async () => {
    await relay.stop();
    await internet.close();
    await dns.close();
  });
  await relay.waitForLog((line) => line.level === 40 && /self-signed development certificate/.test(String(line.msg)), 'the generated relay certificate');
  const port = await relay.port('mx');
  const send = (from: string, to: string, localAddress: string, pair?: KeyPair) =>
    submit({ port, localAddress, from, to: [to], data: sampleMessage(`${from} to ${to}`), ...(pair ? { key: pair.key, cert: pair.cert } : {}) });

  t.test('Exchange relays anywhere only from the server network and with its certificate', async (t) => {
    t.match(await send('clerk@contoso.test', 'customer@elsewhere.test', SERVER_NETWORK), { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'the server network without the certificate');
    t.match(await send('clerk@contoso.test', 'customer@elsewhere.test', OUTSIDE, pairs.exchange), { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'the certificate from outside the server network');
    t.match(await send('clerk@contoso.test', 'customer@elsewhere.test', SERVER_NETWORK, pairs.otherName), { ok: false, code: 550 }, 'a trusted certificate for another name');

    const relayed = await send('clerk@contoso.test', 'customer@elsewhere.test', SERVER_NETWORK, pairs.exchange);
    t.match(relayed, { ok: true, response: /^250 2\.0\.0 Ok: queued as / });
    const attempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.domain === 'elsewhere.test', 'the delivery to elsewhere.test');
    t.match(attempt, { outcome: 'delivered', connector: 'default', tlsLevel: 'opportunistic', host: 'mx.elsewhere.test' }, 'by MX, opportunistic TLS');
    t.match(internet.received, [{ from: 'clerk@contoso.test', to: ['customer@elsewhere.test'], secure: true }]);
  });

  t.test('anyone may send to contoso.test; it goes to the smart host only under verify', async (t) => {
    // accepted from outside the server network: contoso.test is an accepted domain
    const message = oneMessage(file, () => send('someone@elsewhere.test', 'ap@contoso.test', OUTSIDE));
    const sink = await refusedUntilVerified(t, relay, {
      domain: 'contoso.test',
      connector: 'onprem-exchange',
      host: 'exchange.contoso.test',
      peer: (cert) => ({ tls: 'starttls', cert, port: exchangePort }),
      message,
      refusals: [
        { cert: pairs.selfSigned, reason: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', verdict: 'untrusted' },
        { cert: pairs.otherName, reason: 'the certificate names none of exchange.contoso.test (it has DNS:mail.contoso.test)', verdict: 'trusted' },
      ],
      right: pairs.exchange,
    });
    t.teardown(() => sink.close());
    t.match(sink.received, [{ from: 'someone@elsewhere.test', to: ['ap@contoso.test'], secure: true }]);
  });
});
