// tls.ocsp through the relay process, as an operator sets it in the config file: next hops
// and a client whose certificates name a real `openssl ocsp` responder on loopback (or one
// that is down). Delivery: good delivers under verify, revoked defers 4.7.5 under verify and
// delivers under encrypt, a responder that is down defers under hard. Inbound: a revoked
// client certificate is refused 5.7.1, one whose responder is down gets 451 4.7.0.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startOcspResponder } from '../helpers/ocspResponder.js';
import { startSink, type Sink } from '../helpers/peers.js';
import { opensslCertificate, type KeyPair } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { startRelay, writeConfig, type LogLine } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { needsTool } from '../helpers/tools.js';

const HOST = '127.0.0.1';

t.test('tls.ocsp: hard, through the relay process', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const ca = await opensslCertificate({ subject: '/CN=Partner OCSP CA', ca: true });
  const [upPort, downPort] = [await freePort(), await freePort()];
  const issue = (name: string, port: number): Promise<KeyPair> =>
    opensslCertificate({ subject: `/CN=${name}`, issuer: ca, extensions: [`subjectAltName = DNS:${name}, IP:${HOST}`, `authorityInfoAccess = OCSP;URI:http://${HOST}:${port}/`] });
  const good = await issue('mx.partner.test', upPort);
  const revoked = await issue('mx.partner.test', upPort);
  const unanswered = await issue('mx.partner.test', downPort);
  const revokedClient = await issue('mail.partner.test', upPort);
  const unansweredClient = await issue('mail.partner.test', downPort);
  // ours, served to clients: not in the index, which takes one valid entry per subject (ocspIndex writes one subject for all)
  const relayCert = await issue('relay.test', upPort);
  const responder = await startOcspResponder({
    ca,
    port: upPort,
    index: [{ certificate: good }, { certificate: revoked, revokedAt: new Date(Date.now() - 60_000) }, { certificate: revokedClient, revokedAt: new Date(Date.now() - 60_000) }],
  });
  t.teardown(() => responder.stop());

  const sinks: Record<string, Sink> = {};
  const hops: Array<[domain: string, level: string, cert: KeyPair]> = [
    ['good.test', 'verify', good],
    ['revoked.test', 'verify', revoked],
    ['revoked-encrypt.test', 'encrypt', revoked],
    ['unanswered.test', 'verify', unanswered],
  ];
  for (const [domain, , cert] of hops) sinks[domain] = await startSink({ tls: 'starttls', cert });
  t.teardown(() => Promise.all(Object.values(sinks).map((sink) => sink.close())));

  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'relay.crt'), relayCert.cert);
  writeFileSync(join(dir, 'relay.key'), relayCert.key);
  const outbound = hops.map(([domain, level]) => `  - { name: ${domain.replace('.test', '')}, domains: [${domain}], smartHosts: ["${HOST}:${sinks[domain]!.port}"], tls: ${level} }`);
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, trust: [ca.crt], ocsp: hard }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
inbound:
  - { name: partner, match: { senderDomains: [partner.test] }, require: { tls: true, certificateNames: [mail.partner.test] } }
  - { name: local, match: { ips: [127.0.0.1/32] }, relay: true }
outbound:
${outbound.join('\n')}
`,
    ),
  );
  t.teardown(() => relay.stop());
  const port = await relay.port();

  t.test('delivery', async (t) => {
    const domains = hops.map(([domain]) => domain);
    const submitted = await submit({ port, from: 'sender@client.test', to: domains.map((domain) => `user@${domain}`), data: sampleMessage('ocsp') });
    if (!submitted.ok) throw new Error(`the relay refused the message: ${submitted.response}`);
    const attempt = (domain: string): Promise<LogLine> => relay.waitForLog((line) => line.msg === 'delivery attempt' && line.domain === domain, `the attempt for ${domain}`);
    t.match(await attempt('good.test'), { outcome: 'delivered', verdict: 'verified' });
    t.match(await attempt('revoked.test'), { outcome: 'deferred', code: 450, response: /^450 4\.7\.5 Server certificate not verified for host .*: certificate revoked at .*\(OCSP\)$/ });
    t.match(await attempt('revoked-encrypt.test'), { outcome: 'delivered', verdict: 'untrusted' });
    t.match(await attempt('unanswered.test'), { outcome: 'deferred', response: /^450 4\.7\.5 .*OCSP responder unreachable: .*\(tls\.ocsp: hard\)$/ });
    t.equal(sinks['revoked.test']!.received.length, 0, 'no MAIL reached the revoked host');
    t.ok(
      relay.logs.some((line) => line.msg?.startsWith('OCSP: ') && line.connector === 'revoked-encrypt' && /revoked/.test(String(line.reason))),
      'encrypt delivered, and the log says why the chain failed',
    );
  });

  t.test('client certificates', async (t) => {
    const send = (client: KeyPair) => submit({ port, from: 'a@partner.test', to: ['user@contoso.test'], data: sampleMessage('from a partner'), key: client.key, cert: client.cert });
    t.match(await send(revokedClient), { ok: false, code: 530, response: /^530 5\.7\.1 .*certificate revoked at .*\(OCSP\)/ });
    t.match(await send(unansweredClient), { ok: false, code: 451, response: /^451 4\.7\.0 Connector "partner" cannot check the client certificate now: / });
  });
});
