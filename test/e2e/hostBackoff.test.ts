// The relay process against a next hop that refuses every session: 20 messages for 20
// domains routed to it cost one connection, the others are deferred without dialling
// ("delivery temporarily suspended") and not retried before the host's backoff ends —
// unless the operator retries them, which sends one probe and, the host being back, all
// of them over the probe's session.
import t from 'tap';
import { REFUSAL, startCountingPeer } from '../helpers/countingPeer.js';
import { runCli, startRelay, writeConfig, type LogLine } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

const MESSAGES = 20;

t.test('one connection to a down next hop, however many messages wait for it', async (t) => {
  const peer = await startCountingPeer({ greeting: 'refuse' });
  t.teardown(() => peer.close());
  const dir = t.testdir();
  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
delivery: { perHost: 1 }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: partner, domains: ["*.partner.test"], smartHosts: ["127.0.0.1:${peer.port}"] }
`,
  );
  const relay = startRelay(config);
  t.teardown(() => relay.stop());
  const port = await relay.port();

  const ids: string[] = [];
  for (let n = 0; n < MESSAGES; n++) {
    const submitted = await submit({ port, from: 'sender@client.test', to: [`user@d${n}.partner.test`], data: sampleMessage(`message ${n}`) });
    if (!submitted.ok) throw new Error(`the relay refused message ${n}: ${submitted.response}`);
    ids.push(/queued as ([0-9a-f]+)/.exec(submitted.response)![1]!);
  }
  const attempts: LogLine[] = [];
  for (const id of ids) attempts.push(await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, `the attempt of ${id}`));

  t.equal(peer.connections, 1, `one connection for ${MESSAGES} messages`);
  const refused = `451 4.4.0 host 127.0.0.1 refused to talk to me: ${REFUSAL}`;
  t.same(
    attempts.map((attempt) => attempt.response).sort(),
    [refused, ...Array<string>(MESSAGES - 1).fill(`451 4.4.0 delivery temporarily suspended: host 127.0.0.1 refused to talk to me: ${REFUSAL}`)].sort(),
  );
  const down = relay.logs.filter((line) => line.msg === 'next hop down');
  t.match(down, [{ host: `127.0.0.1:${peer.port}`, failures: 1, until: String, reason: refused }], 'one line for the outage');
  const until = Date.parse(String(down[0]?.until));

  // the envelopes are written after the attempt is logged: wait until all 20 are
  const listQueue = async (): Promise<Array<{ id: string; nextAttemptAt: string; attempts: number }>> => {
    const listed = await runCli(['queue', 'list', '--json', '-c', config]);
    if (listed.code !== 0) throw new Error(`queue list failed: ${listed.stderr}`);
    return (JSON.parse(listed.stdout) as { messages: Array<{ id: string; nextAttemptAt: string; attempts: number }> }).messages;
  };
  let messages = await listQueue();
  while (messages.filter((message) => message.attempts === 1).length < MESSAGES) messages = await listQueue();
  t.same(messages.map((message) => message.id).sort(), [...ids].sort(), 'every message is still queued');
  for (const message of messages) {
    t.ok(Date.parse(message.nextAttemptAt) >= until, `${message.id}: not retried before the backoff ends (${message.nextAttemptAt} >= ${down[0]?.until})`);
  }

  // the host is back, and the operator says so: one probe, then everything flows
  peer.greeting = 'ok';
  const retried = await runCli(['queue', 'retry', '--all', '-c', config]);
  t.equal(retried.code, 0, retried.stderr);
  for (const id of ids) await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === 'delivered', `the delivery of ${id}`);
  t.equal(peer.received.length, MESSAGES, 'all of them arrived');
  // delivery.perHost 1: the others wait for the probe's slot, and its session is handed on from one domain to the next
  t.equal(peer.connections, 2, 'the probe, whose session then carries every domain');
  t.match(relay.logs.filter((line) => line.msg === 'next hop up again'), [{ host: `127.0.0.1:${peer.port}`, failures: 1 }]);
});
