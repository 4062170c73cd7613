// SIGTERM and SIGINT: listeners close, idle sessions get 421 at once, a session in DATA
// finishes and gets its 250, a delivery in flight finishes and is recorded, the relay
// exits 0 — and what it took is delivered after the restart, once.
import t from 'tap';
import { startCountingPeer } from '../helpers/countingPeer.js';
import { startSink } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { idleAndSendingSessions } from '../helpers/shutdownSessions.js';

/** Relays from 127.0.0.1 to partner.test, in plaintext, at the next hop on `nextHopPort`. */
const relayConfig = (dir: string, nextHopPort: number, retry: string): string =>
  writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [${retry}] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${nextHopPort}"], tls: none }]
`,
  );

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`graceful stop on ${signal}`, async (t) => {
    const dir = t.testdir();
    const relay = startRelay(relayConfig(dir, await freePort(), '1s'));
    const port = await relay.port();

    const { idle, sending } = await idleAndSendingSessions(port, 'user@partner.test');

    relay.child.kill(signal);
    t.match(await idle.reply(), /^421 4\.3\.2 Service shutting down/, 'the idle session is told at once');
    sending.write('second half\r\n.\r\n');
    t.match(await sending.reply(), /^250 2\.0\.0 Ok: queued as/, 'the session in DATA finishes with 250');
    sending.write('QUIT\r\n');
    t.equal(await relay.exited, 0, 'exit 0');
    t.match(relay.logs.find((line) => line.msg === 'shutting down'), { signal }, `the log names ${signal}`);
    idle.close();
    sending.close();

    // the message taken during shutdown is in the spool; a restart delivers it
    const sink = await startSink({ tls: 'none' });
    t.teardown(() => sink.close());
    const again = startRelay(relayConfig(dir, sink.port, '1s'));
    t.teardown(() => again.stop());
    await again.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'the delivery after the restart');
    t.match(sink.received[0]?.data, /first half\r\nsecond half\r\n/);
  });
}

t.test('a delivery in flight at SIGTERM finishes, is recorded, and is not sent again after the restart', async (t) => {
  const dir = t.testdir();
  // the peer keeps its reply to the final dot until the test lets it go
  const peer = await startCountingPeer({ greeting: 'ok', holdData: true });
  t.teardown(() => peer.close());
  const config = relayConfig(dir, peer.port, '1h');
  const relay = startRelay(config);
  const first = await submit({ port: await relay.port(), tls: 'none', from: 'a@client.test', to: ['first@partner.test'], data: sampleMessage('in flight') });
  if (!first.ok) throw new Error(`the relay refused the message: ${first.response}`);
  const queueId = /queued as (\S+)/.exec(first.response)![1]!;
  await peer.held(1);

  relay.child.kill('SIGTERM');
  await relay.waitForLog((line) => line.msg === 'shutting down', 'the relay taking the signal');
  t.equal(peer.releaseHeld(), 1, 'the 250 to DATA goes out only after SIGTERM');
  t.equal(await relay.exited, 0, 'exit 0');
  const attempts = relay.logs.filter((line) => line.msg === 'delivery attempt' && line.queueId === queueId);
  t.match(attempts, [{ outcome: 'delivered', code: 250 }], 'the delivery was recorded before the exit');
  t.ok(relay.logs.indexOf(attempts[0]!) > relay.logs.findIndex((line) => line.msg === 'shutting down'), 'recorded after the signal');
  const spooled = await runCli(['queue', 'show', queueId, '-c', config]);
  t.equal(spooled.code, 1, 'and gone from the spool');

  // a restart finds nothing of it to send: once it has delivered a new message and
  // stopped (which waits for every delivery it began), the peer has each message once
  peer.holdData = false;
  const again = startRelay(config);
  const second = await submit({ port: await again.port(), tls: 'none', from: 'a@client.test', to: ['second@partner.test'], data: sampleMessage('after the restart') });
  if (!second.ok) throw new Error(`the restarted relay refused the message: ${second.response}`);
  const secondId = /queued as (\S+)/.exec(second.response)![1]!;
  await again.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === secondId && line.outcome === 'delivered', 'the delivery after the restart');
  t.equal(await again.stop(), 0);
  t.same(peer.received, [['first@partner.test'], ['second@partner.test']], 'the message in flight at SIGTERM arrived once');
});
