// A verify connector whose peer keeps showing an expired certificate: the message is
// deferred on every retry, and once the connector's maxAge has passed it bounces with a
// DSN that tells the sender the certificate reason.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

const DAY = 86_400_000;

t.test('maxAge: a certificate that never verifies bounces with the reason in the DSN', async (t) => {
  const ca = await makeCa();
  const expired = await makeCert({ names: ['mx1.fabrikam.test'], ips: ['127.0.0.1'], ca, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
  const partner = await startSink({ tls: 'starttls', cert: expired });
  const senderSide = await startSink({ tls: 'starttls' });
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true, trust: [ca.crt] }
queue: { dir: spool, retry: [1s] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: fabrikam, domains: [fabrikam.test], smartHosts: ["127.0.0.1:${partner.port}"], tls: verify, maxAge: 2s }
  - { name: senders, domains: [client.test], smartHosts: ["127.0.0.1:${senderSide.port}"], tls: encrypt }
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await partner.close();
    await senderSide.close();
  });
  const port = await relay.port();

  const submitted = await submit({ port, from: 'sender@client.test', to: ['user@fabrikam.test'], data: sampleMessage('never verified') });
  if (!submitted.ok) throw new Error(`the relay refused the message: ${submitted.response}`);
  const queueId = /queued as ([0-9a-f]+)/.exec(submitted.response)![1]!;
  const reason = 'Server certificate not verified for host 127.0.0.1: certificate has expired (CERT_HAS_EXPIRED)';

  const bounced = await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === queueId, 'the bounce');
  const attempts = relay.logs.filter((line) => line.msg === 'delivery attempt' && line.queueId === queueId);
  t.ok(attempts.length >= 2, `retried before giving up (${attempts.length} attempts)`);
  for (const attempt of attempts) {
    t.match(attempt, { outcome: 'deferred', code: 450, verdict: 'untrusted', response: `450 4.7.5 ${reason}` }, 'each attempt: deferred with the certificate reason');
  }
  t.equal(partner.received.length, 0, 'nothing ever reached the partner');

  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === bounced.bounceId && line.outcome === 'delivered', 'the DSN delivered');
  const dsn = senderSide.received.find((message) => message.from === '');
  t.ok(dsn, 'the DSN reached the sender side, from the null sender');
  t.same(dsn?.to, ['sender@client.test']);
  const text = (dsn?.data ?? '').replace(/\r\n[ \t]+/g, ' ');
  t.match(text, /Final-Recipient: rfc822; ?user@fabrikam\.test/i);
  t.match(text, /Action: failed/);
  t.match(text, /Status: 5\.7\.5/, 'a failure now (5), with the subject and detail of the last deferral (7.5)');
  t.ok(text.includes(`Diagnostic-Code: smtp; 450 4.7.5 ${reason}`), 'the last reason as the diagnostic');
  t.match(text, /<user@fabrikam\.test>: delivery kept failing and was given up after \d+ attempts; the last error was: [^\r\n]*certificate has expired/, 'the human-readable part says it too');
});
