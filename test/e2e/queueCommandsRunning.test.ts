// `tlsrelay queue …` against the spool of a running relay: the relay honours hold, release,
// retry and delete at once, and never delivers what is held or sends a recipient twice.
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { startSink, type Sink } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

const queue = (config: string, ...args: string[]) => runCli(['queue', ...args, '-c', config]);

function relayConfig(dir: string, retry: string, outbound: string): string {
  return writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [${retry}] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
${outbound}`,
  );
}

async function send(t: Test, port: number, to: string[], subject: string): Promise<string> {
  const result = await submit({ port, from: 'alice@client.test', to, data: sampleMessage(subject) });
  if (!result.ok) throw new Error(`"${subject}" was refused: ${result.response}`);
  t.pass(`"${subject}" accepted`);
  return /queued as (\S+)/.exec(result.response)![1]!;
}

function attemptOf(relay: RelayProcess, id: string, domain: string, outcome: string) {
  return relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.domain === domain && line.outcome === outcome, `${outcome} attempt of ${id} for ${domain}`);
}

function subjects(sink: Sink): string[] {
  return sink.received.map((message) => /Subject: (.*)\r\n/.exec(message.data)?.[1] ?? '?').sort();
}

t.test('a held message is not delivered while the relay runs; released, it is', async (t) => {
  const partnerPort = await freePort();
  const config = relayConfig(t.testdir(), '1s', `  - { name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${partnerPort}"], tls: opportunistic }\n`);
  const relay = startRelay(config);
  t.teardown(() => relay.stop());
  const port = await relay.port();

  const held = await send(t, port, ['bob@partner.test'], 'held');
  await attemptOf(relay, held, 'partner.test', 'deferred');
  const hold = await queue(config, 'hold', held);
  t.same([hold.code, hold.stdout], [0, `${held} held: it is not delivered until released\n`]);

  // Let the held message become due (retry: 1s): from then on only the hold keeps it back.
  const { nextAttemptAt } = JSON.parse((await queue(config, 'show', '--json', held)).stdout) as { nextAttemptAt: string };
  await sleep(Math.max(0, Date.parse(nextAttemptAt) - Date.now() + 100));
  const partner = await startSink({ tls: 'starttls', port: partnerPort });
  t.teardown(() => partner.close());
  const other = await send(t, port, ['carol@partner.test'], 'not held');
  await attemptOf(relay, other, 'partner.test', 'delivered');
  t.same(subjects(partner), ['not held'], 'the next hop is up and the held message was due, yet only the other one came');
  t.notOk(relay.logs.some((line) => line.queueId === held && line.outcome === 'delivered'));

  const release = await queue(config, 'release', held);
  t.same([release.code, release.stdout], [0, `${held} released: due now\n`]);
  await attemptOf(relay, held, 'partner.test', 'delivered');
  t.same(subjects(partner), ['held', 'not held'], 'delivered once released, once');
});

t.test('list, retry, delete with and without a bounce while the relay runs; a delivered recipient is never sent again', async (t) => {
  const sink = await startSink({ tls: 'starttls' });
  t.teardown(() => sink.close());
  const partnerPort = await freePort();
  const config = relayConfig(
    t.testdir(),
    '1h',
    `  - { name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${partnerPort}"], tls: opportunistic }
  - { name: local, domains: [ok.test, client.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: opportunistic }
`,
  );
  const relay = startRelay(config);
  t.teardown(() => relay.stop());
  const port = await relay.port();

  const split = await send(t, port, ['bob@partner.test', 'fred@ok.test'], 'split');
  const toDelete = await send(t, port, ['carol@partner.test'], 'to delete');
  const toDeleteSilently = await send(t, port, ['dan@partner.test'], 'to delete silently');
  await attemptOf(relay, split, 'ok.test', 'delivered');
  for (const id of [split, toDelete, toDeleteSilently]) await attemptOf(relay, id, 'partner.test', 'deferred');

  const list = await queue(config, 'list', '--json');
  const { messages } = JSON.parse(list.stdout) as { messages: Array<{ id: string; state: string; recipients: unknown[] }> };
  t.same(messages.map((m) => [m.id, m.state]).sort(), [split, toDelete, toDeleteSilently].sort().map((id) => [id, 'deferred']), 'all three wait, an hour from now');
  t.match(messages.find((m) => m.id === split)?.recipients, [
    { address: 'bob@partner.test', state: 'pending', lastError: /^4\d\d / },
    { address: 'fred@ok.test', state: 'delivered' },
  ]);

  const partner = await startSink({ tls: 'starttls', port: partnerPort });
  t.teardown(() => partner.close());
  const retry = await queue(config, 'retry', split);
  t.same([retry.code, retry.stdout], [0, `${split} will be attempted now\n`]);
  await attemptOf(relay, split, 'partner.test', 'delivered');
  t.same(partner.received.map((m) => m.to), [['bob@partner.test']], 'attempted now, for the recipient still pending');
  t.equal(sink.received.filter((m) => m.to.includes('fred@ok.test')).length, 1, 'fred@ok.test got it once: not sent again');

  const deleted = await queue(config, 'delete', toDelete);
  t.equal(deleted.code, 0, deleted.stderr);
  const bounceId = /bounce (\S+) queued to <alice@client\.test>/.exec(deleted.stdout)?.[1] ?? 'none';
  await attemptOf(relay, bounceId, 'client.test', 'delivered');
  const dsn = sink.received.find((m) => m.from === '' && m.data.includes(toDelete));
  t.same(dsn?.to, ['alice@client.test'], 'the relay delivered the bounce to the sender at once');
  t.match(dsn?.data, '<carol@partner.test>: deleted from the queue by the administrator');
  t.equal((await queue(config, 'show', toDelete)).code, 1, 'the deleted message is gone');

  const silent = await queue(config, 'delete', '--silent', toDeleteSilently);
  t.same([silent.code, silent.stdout], [0, `${toDeleteSilently} deleted; no bounce: --silent\n`]);
  const left = JSON.parse((await queue(config, 'list', '--json')).stdout) as { messages: Array<{ id: string }> };
  t.same(left.messages.filter((m) => m.id !== bounceId), [], 'nothing queued: no bounce for the silent delete');
  t.notOk(partner.received.some((m) => m.to.includes('carol@partner.test') || m.to.includes('dan@partner.test')), 'deleted messages never went out');
});
