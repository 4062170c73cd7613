// Nothing lost: concurrent clients send while the relay is killed with SIGKILL three times at
// random moments and restarted on the same spool; every message that got 250 reaches the
// next hop. At-least-once is the promise: duplicates (delivered, then killed before the
// spool recorded it) are reported, not failed. For each store.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { QUEUE_STORES, storeContents } from '../helpers/queueStores.js';
import { startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { until } from '../helpers/until.js';

const CLIENTS = 4;
const MESSAGES_PER_CLIENT = 50;
const KILLS = 3;

interface Generation {
  relay: RelayProcess;
  /** Resolves when the next relay process has taken over the spool. */
  replaced: Promise<void>;
  markReplaced: () => void;
}

for (const store of QUEUE_STORES) t.test(`queue.store ${store}: every message that got 250 is delivered across three kill -9 and restarts`, async (t) => {
  t.setTimeout(90_000);
  const sink = await startSink({ tls: 'none' });
  t.teardown(() => sink.close());
  const dir = t.testdir();
  const spool = join(dir, 'spool');
  const config = writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, store: ${store}, retry: [1s] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: opportunistic }
`,
  );

  const generations: Generation[] = [];
  const launch = (): void => {
    let markReplaced = (): void => undefined;
    const replaced = new Promise<void>((resolve) => (markReplaced = resolve));
    const previous = generations.at(-1);
    generations.push({ relay: startRelay(config), replaced, markReplaced });
    previous?.markReplaced();
  };
  launch();
  t.teardown(() => generations.at(-1)!.relay.stop());

  const acknowledged: string[] = [];
  let notAcknowledged = 0;
  const client = async (n: number): Promise<void> => {
    for (let i = 0; i < MESSAGES_PER_CLIENT; i++) {
      const subject = `crash ${n}-${i}`;
      const index = generations.length - 1;
      const generation = generations[index]!;
      const result = await generation.relay.port().then(
        (port) => submit({ port, tls: 'none', from: 'sender@client.test', to: [`rcpt${n}@partner.test`], data: sampleMessage(subject) }),
        () => undefined,
      );
      if (result?.ok) {
        acknowledged.push(subject);
        continue;
      }
      // The relay died under this message: it was not acknowledged, and may or may not arrive.
      notAcknowledged++;
      if (index < KILLS) await generation.replaced;
    }
  };
  let clientsDone = false;
  const clients = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n))).then(() => {
    clientsDone = true;
  });

  // Kill after a random number of acknowledgements, well inside the run: deliveries of
  // earlier messages are in flight then too.
  const total = CLIENTS * MESSAGES_PER_CLIENT;
  const killAt = Array.from({ length: KILLS }, (_, k) => Math.floor(((k + 1) * total) / (KILLS + 2)) + randomInt(total / 10));
  for (const threshold of killAt) {
    await until(() => acknowledged.length >= threshold || clientsDone);
    await generations.at(-1)!.relay.kill9();
    launch();
  }
  await clients;
  t.equal(generations.length, KILLS + 1, `${KILLS} kills at ${killAt.join(', ')} acknowledgements`);
  t.ok(acknowledged.length >= total - 3 * CLIENTS * KILLS, `most messages were acknowledged (${acknowledged.length} of ${total})`);

  // An empty queue means every stored message was settled: delivered (the sink said 250
  // before the envelope went) or given up on. Whatever is not at the sink then is lost.
  await until(async () => (await storeContents(store, spool)).queued.length === 0);
  const counts = new Map<string, number>();
  for (const message of sink.received) {
    const subject = /Subject: (.*)\r\n/.exec(message.data)?.[1] ?? '?';
    counts.set(subject, (counts.get(subject) ?? 0) + 1);
  }
  const duplicates = [...counts].filter(([, count]) => count > 1);
  t.comment(
    `${acknowledged.length} acknowledged, ${notAcknowledged} not; ${counts.size} distinct messages arrived, ${duplicates.length} of them more than once` +
      (duplicates.length > 0 ? `: ${duplicates.map(([subject, count]) => `${subject} ×${count}`).join(', ')}` : ''),
  );
  t.same(acknowledged.filter((subject) => !counts.has(subject)), [], `none of the ${acknowledged.length} acknowledged messages was lost`);

  t.equal(await generations.at(-1)!.relay.stop(), 0, 'the last relay stops cleanly');
  const { quarantined, claimed } = await storeContents(store, spool);
  t.same(quarantined, [], 'no damaged spool entry');
  t.same(claimed, [], 'no message claim left behind');
});
