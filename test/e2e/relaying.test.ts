// Who may send where: accepted domains for anyone, other domains only through a
// relaying connector — over real SMTP against the relay process.
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

t.test('without a relaying connector only accepted domains are taken', async (t) => {
  const sink = await startSink({ tls: 'starttls' });
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
inbound:
  - { name: office, match: { ips: [192.0.2.0/24] }, relay: true }
outbound:
  - { name: onprem, domains: [contoso.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: encrypt }
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();

  const denied = await submit({ port, from: 'a@client.test', to: ['someone@example.com'], data: sampleMessage() });
  t.match(denied, { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'another domain: relaying denied');

  const percentHack = await submit({ port, from: 'a@client.test', to: ['user%contoso.test@example.com'], data: sampleMessage() });
  t.match(percentHack, { ok: false, code: 550 }, 'the percent hack is judged by the domain after the last @');
  const upperCase = await submit({ port, from: 'a@client.test', to: ['user@CONTOSO.TEST'], data: sampleMessage() });
  t.match(upperCase, { ok: true }, 'domains compare case-insensitively');

  const mixed = await submit({ port, from: 'a@client.test', to: ['user@contoso.test', 'other@example.com'], data: sampleMessage('mixed') });
  t.match(mixed, { ok: true, accepted: ['user@contoso.test'], rejected: ['other@example.com'] }, 'only the accepted domain of a mixed envelope');

  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered' && sink.received.some((m) => /Subject: mixed/.test(m.data)), 'the mixed message delivered');
  const delivered = sink.received.find((m) => /Subject: mixed/.test(m.data))!;
  t.same(delivered.to, ['user@contoso.test'], 'the refused recipient was never relayed');
  t.equal(delivered.protocol, 'TLSv1.3');
  t.ok(relay.logs.some((line) => line.msg === 'recipient refused' && line.to === 'someone@example.com' && line.code === 550), 'refusals are logged');
});

t.test('a relaying connector matched on the client IP may send anywhere', async (t) => {
  const sink = await startSink({ tls: 'none' });
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
inbound:
  - { name: local, match: { ips: [127.0.0.1/32] }, relay: true }
outbound:
  - { name: anywhere, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();
  const result = await submit({ port, tls: 'none', from: 'a@client.test', to: ['someone@example.com'], data: sampleMessage('relayed') });
  t.match(result, { ok: true, response: /^250 2\.0\.0 Ok: queued as [0-9a-f]+/ });
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'delivery');
  t.equal(sink.received.length, 1);
  t.match(sink.received[0]!.data, /with ESMTP\r\n/, 'plaintext inbound hop is ESMTP in the Received header');
});
