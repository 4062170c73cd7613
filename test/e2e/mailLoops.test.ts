// Mail loops through real relay processes: a message that arrives with more trace fields
// than smtp.maxHops is refused at DATA; two relays that route a domain to each other pass
// the message round until one of them refuses it, and the sender gets one DSN; a relay
// whose smart host is its own listener never sends to itself and bounces after maxAge.
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { sendOneMessage } from '../helpers/smtpDialog.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

const received = (n: number): string =>
  Array.from({ length: n }, (_, i) => `Received: from hop${i}.test (hop${i}.test [192.0.2.${i}])\r\n\tby hop${i + 1}.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n`).join('');

/** A new config file and SIGHUP, once the relay has started (before that it ignores SIGHUP). */
async function reconfigure(relay: RelayProcess, file: string, yaml: string): Promise<void> {
  await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start');
  writeFileSync(file, yaml);
  relay.child.kill('SIGHUP');
  await relay.waitForLog((line) => line.msg === 'configuration reloaded', 'the reload');
}

const accepted = (relay: RelayProcess): number => relay.logs.filter((line) => line.msg === 'message accepted').length;

/** The DSN's delivery-status fields, folded lines unfolded. */
const unfolded = (data: string | undefined): string => (data ?? '').replace(/\r\n[ \t]+/g, ' ');

t.test('smtp.maxHops: 51 Received lines get 554 5.4.6 Too many hops at DATA, 50 are relayed', async (t) => {
  const sink = await startSink({ tls: 'none' });
  const dir = t.testdir();
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();
  const body = 'Subject: hops\r\n\r\nbody\r\n';

  t.equal(await sendOneMessage(port, [received(51) + body]), '554 5.4.6 Too many hops\r\n', '51: refused, and the session goes on');
  t.equal(await sendOneMessage(port, [received(26).replace(/^Received/gm, 'delivered-to') + received(25) + body]), '554 5.4.6 Too many hops\r\n', 'Delivered-To counts too, in any case');
  t.match(await sendOneMessage(port, [received(50) + body]), /^250 2\.0\.0 Ok: queued as /, '50: accepted');

  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'the delivery');
  // logged before the delivery, so read by now
  const refusals = relay.logs.filter((line) => line.msg === 'message refused');
  t.match(refusals, [{ code: 554, response: '5.4.6 Too many hops' }, { code: 554, response: '5.4.6 Too many hops' }], 'each refusal is logged');
  t.equal(accepted(relay), 1, 'only the message with 50 was queued');
  const data = sink.received[0]?.data ?? '';
  t.equal(data.match(/^Received: /gm)?.length, 51, 'the next hop gets its 50 and ours');
  t.match(data, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(tlsrelay\)/, 'ours on top');
});

t.test('two relays that route a domain to each other: the message goes round until one refuses it, then bounces once', async (t) => {
  const senderSide = await startSink({ tls: 'none' });
  const [dirA, dirB] = [t.testdir({ a: {}, b: {} }) + '/a', t.testdirName + '/b'];
  // each relay's smart host for loop.test is the other one: its port is known only once it runs
  const configText = (name: string, peerPort: number) => `server: { hostname: ${name} }
listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: loop, domains: [loop.test], smartHosts: ["127.0.0.1:${peerPort}"], tls: none }
  - { name: senders, domains: [client.test], smartHosts: ["127.0.0.1:${senderSide.port}"], tls: none }
`;
  const fileA = writeConfig(dirA, configText('relay-a.test', 1));
  const fileB = writeConfig(dirB, configText('relay-b.test', 1));
  const relayA = startRelay(fileA);
  const relayB = startRelay(fileB);
  t.teardown(async () => {
    await Promise.all([relayA.stop(), relayB.stop()]);
    await senderSide.close();
  });
  const [portA, portB] = await Promise.all([relayA.port(), relayB.port()]);
  await reconfigure(relayA, fileA, configText('relay-a.test', portB));
  await reconfigure(relayB, fileB, configText('relay-b.test', portA));

  const submitted = await submit({ port: portA, tls: 'none', from: 'sender@client.test', to: ['user@loop.test'], data: sampleMessage('round and round') });
  if (!submitted.ok) throw new Error(`relay A refused the message: ${submitted.response}`);

  const bounced = await relayA.waitForLog((line) => line.msg === 'bounce queued', 'the bounce');
  await relayA.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === bounced.bounceId && line.outcome === 'delivered', 'the DSN delivered');
  // B's refusal is in B's log, which A's DSN can outrun; B logged its acceptances before it
  await relayB.waitForLog((line) => line.msg === 'message refused', "B's refusal");
  // A took it with 0, 2, … 50 trace fields, B with 1, 3, … 49; B refused it arriving with 51
  t.equal(accepted(relayA), 26, 'relay A accepted it 26 times');
  t.equal(accepted(relayB), 25, 'relay B accepted it 25 times');
  t.match(relayB.logs.filter((line) => line.msg === 'message refused'), [{ code: 554, response: '5.4.6 Too many hops' }], 'B refused it once');
  const last = relayA.logs.filter((line) => line.msg === 'delivery attempt' && line.domain === 'loop.test').at(-1);
  t.match(last, { outcome: 'bounced', code: 554, response: '554 5.4.6 Too many hops' }, "A's last delivery was refused for good");

  t.equal(senderSide.received.length, 1, 'the sender side got exactly one message');
  const dsn = senderSide.received[0];
  t.equal(dsn?.from, '', 'a DSN, from the null sender');
  t.same(dsn?.to, ['sender@client.test']);
  const text = unfolded(dsn?.data);
  t.match(text, /Final-Recipient: rfc822; ?user@loop\.test/i);
  t.match(text, /Action: failed/);
  t.match(text, /Status: 5\.4\.6/);
  t.ok(text.includes('Diagnostic-Code: smtp; 554 5.4.6 Too many hops'), 'the refusal as the diagnostic');
});

t.test('a smart host that is the relay’s own listener: never dialled, deferred with 4.4.6, bounced with 5.4.6 after maxAge', async (t) => {
  const senderSide = await startSink({ tls: 'none' });
  const dir = t.testdir();
  // the listener's port is 0: the relay must know the port it was given
  const configText = (ownPort: number) => `server: { hostname: relay.test }
listeners: [{ name: smtp, address: 0.0.0.0, port: 0, tls: none }]
queue: { dir: spool, retry: [1s] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: self, domains: [loop.test], smartHosts: ["127.0.0.1:${ownPort}"], tls: none, maxAge: 3s }
  - { name: senders, domains: [client.test], smartHosts: ["127.0.0.1:${senderSide.port}"], tls: none }
`;
  const file = writeConfig(dir, configText(1));
  const relay = startRelay(file);
  t.teardown(async () => {
    await relay.stop();
    await senderSide.close();
  });
  const port = await relay.port();
  await reconfigure(relay, file, configText(port));

  const submitted = await submit({ port, tls: 'none', from: 'sender@client.test', to: ['user@loop.test'], data: sampleMessage('to myself') });
  if (!submitted.ok) throw new Error(`the relay refused the message: ${submitted.response}`);
  const queueId = /queued as ([0-9a-f]+)/.exec(submitted.response)![1]!;

  const bounced = await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === queueId, 'the bounce');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === bounced.bounceId && line.outcome === 'delivered', 'the DSN delivered');
  const loop = '450 4.4.6 mail for loop.test loops back to myself';
  const attempts = relay.logs.filter((line) => line.msg === 'delivery attempt' && line.queueId === queueId);
  // deferred each time, never bounced at once: the 5.4.6 comes only from maxAge (how many
  // attempts fit into its 3 s depends on the machine's load, so their number is not judged)
  t.ok(attempts.length >= 1, 'attempted');
  for (const attempt of attempts) t.match(attempt, { outcome: 'deferred', code: 450, response: loop, host: `127.0.0.1:${port}` });
  t.match(relay.logs.find((line) => line.msg === 'mail loops back to myself: the next hop is this relay'), {
    level: 40,
    domain: 'loop.test',
    evidence: `host 127.0.0.1 is this relay: its listener "smtp" (0.0.0.0:${port})`,
  });
  t.equal(accepted(relay), 1, 'the relay never took the message from itself');

  const dsn = senderSide.received.find((message) => message.from === '');
  t.same(dsn?.to, ['sender@client.test'], 'the DSN reached the sender');
  const text = unfolded(dsn?.data);
  t.match(text, /Status: 5\.4\.6/, 'the deferral 4.4.6 became the failure 5.4.6');
  t.ok(text.includes(`Diagnostic-Code: smtp; ${loop}`), 'with the loop as the diagnostic');
});
