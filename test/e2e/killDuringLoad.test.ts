// kill -9 under load (issue 12, "What must still hold"): 10 senders put 2,000 messages
// through the relay to a sink that counts deliveries by Message-ID, while the relay is
// killed with SIGKILL five times at seeded-random moments and restarted on the same queue.
//
// Nothing that got a 250 may be lost. A duplicate must be explained: after each kill, with
// the relay down, the test asks the queue (through MessageQueue, whatever the store) which
// messages it still holds that the sink has already taken — the kill fell
// between the next hop's answer and the record of it — and only those may arrive again,
// once for each such kill. The relay records each message before its session carries the
// next one, and here it has one connection to the sink (delivery.perHost: 1): at most one
// message is in that window at a kill, so at most one duplicate per kill.
//
// The seed is printed; KILL_SEED=N reruns those kills (after how many deliveries, and how
// close to that delivery's 250).
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import type { MessageQueue } from '../../src/queue/messageQueue.js';
import { openQueue } from '../../src/queue/openQueue.js';
import { messageText, startCountingSink } from '../helpers/countingSink.js';
import { startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { seededRandom, seedFrom } from '../helpers/seededRandom.js';
import { openSmtpSession } from '../helpers/smtpSession.js';
import { until } from '../helpers/until.js';

const MESSAGES = 2000;
const SENDERS = 10;
const KILLS = 5;
/** Connections the relay may hold to the sink, so messages that can be between the sink's 250 and its record at a kill. */
const PER_HOST = 1;

/** Where a kill falls: before the sink's 250 is sent, right after it, or a few milliseconds on. */
type KillMoment = 'before the 250' | 'right after the 250' | 'later';

interface Kill {
  /** Deliveries at the sink, duplicates included, that trigger the kill. */
  afterDeliveries: number;
  moment: KillMoment;
  /** For 'later': how long after the 250. */
  delayMs: number;
}

/** One kill in each fifth of 5–85 % of the run, so that some load runs between two of them. */
function plannedKills(random: () => number): Kill[] {
  const stretch = (0.8 * MESSAGES) / KILLS;
  return Array.from({ length: KILLS }, (_, k) => {
    const afterDeliveries = Math.floor(0.05 * MESSAGES + k * stretch + random() * stretch);
    const pick = random();
    const moment: KillMoment = pick < 1 / 3 ? 'before the 250' : pick < 2 / 3 ? 'right after the 250' : 'later';
    return { afterDeliveries, moment, delayMs: moment === 'later' ? 1 + Math.floor(random() * 30) : 0 };
  });
}

/** The ids of the messages the queue holds: each message has one recipient, ID@sink.test. */
async function queuedIds(queue: MessageQueue): Promise<string[]> {
  const envelopes = await queue.list();
  return envelopes.flatMap((envelope) => envelope.recipients.filter((recipient) => recipient.state === 'pending').map((recipient) => recipient.address.split('@')[0]!));
}

t.test(`kill -9 ${KILLS} times while ${SENDERS} senders send ${MESSAGES} messages: nothing that got a 250 lost, at most one duplicate per kill`, async (t) => {
  const seed = seedFrom(process.env.KILL_SEED);
  const kills = plannedKills(seededRandom(seed));
  t.comment(`seed ${seed} (KILL_SEED=${seed} reruns these kills): ${kills.map((kill) => `after ${kill.afterDeliveries} deliveries ${kill.moment}${kill.moment === 'later' ? ` (${kill.delayMs} ms)` : ''}`).join('; ')}`);

  const sink = await startCountingSink();
  t.teardown(() => sink.close());
  const dir = t.testdir();
  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1s] }
smtp: { maxClients: ${SENDERS + 10}, maxConnectionsPerIp: ${SENDERS + 10}, maxMessagesPerConnection: ${MESSAGES} }
delivery: { perHost: ${PER_HOST} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: [sink.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
  );

  // The relay's queue as `tlsrelay queue list` reads it, beside the relay or without it,
  // but in this process: a CLI process per look takes seconds on a loaded machine.
  const queue = await openQueue(loadConfig(config, 'relay.test').queue, createLogger('silent'));
  t.teardown(() => queue.close());

  // One relay process after the other on the same queue; each kill starts the next.
  const generations: RelayProcess[] = [startRelay(config)];
  const restarted: Array<() => void> = [];
  const nextGeneration = (generation: number): Promise<void> => new Promise((resolve) => (generations.length > generation + 1 ? resolve() : restarted.push(resolve)));
  t.teardown(async () => {
    const relay = generations.at(-1)!;
    if (relay.child.exitCode === null && relay.child.signalCode === null) await relay.kill9();
  });

  /** Per kill: the messages the sink had taken that the queue still held — the ones that may arrive again. */
  const windows: string[][] = [];
  let killing = false;
  const killAndRestart = async (): Promise<void> => {
    const relay = generations.at(-1)!;
    await relay.exited;
    // what the dead relay had sent is counted before the queue is asked
    await until(() => sink.open() === 0);
    const queued = await queuedIds(queue);
    windows.push(queued.filter((id) => sink.deliveries.has(id)));
    generations.push(startRelay(config));
    for (const resolve of restarted.splice(0)) resolve();
    killing = false;
  };
  sink.onDelivery = (total, reply) => {
    const kill = kills[windows.length];
    if (killing || kill === undefined || total < kill.afterDeliveries) return reply();
    killing = true;
    const relay = generations.at(-1)!;
    const killNow = (): void => {
      relay.child.kill('SIGKILL');
      void killAndRestart();
    };
    if (kill.moment === 'before the 250') killNow();
    reply();
    if (kill.moment === 'right after the 250') killNow();
    if (kill.moment === 'later') setTimeout(killNow, kill.delayMs);
  };

  const acknowledged: string[] = [];
  /** Sent while the relay was being killed: no 250, so they may arrive or not (once, or again as a duplicate explained by a kill). */
  const unacknowledged: string[] = [];
  let next = 0;
  /** Sends the next message while there is one, over one session per relay process; a kill breaks the session off, and the next process gets a new one. */
  const sender = async (): Promise<void> => {
    while (next < MESSAGES) {
      const generation = generations.length - 1;
      const relay = generations[generation]!;
      let sending: string | undefined;
      try {
        const session = await openSmtpSession({ port: await relay.port(), tls: 'none' });
        while (next < MESSAGES) {
          sending = `m${next++}`;
          await session.send({ from: 'sender@client.test', to: [`${sending}@sink.test`] }, messageText(sending));
          acknowledged.push(sending);
          sending = undefined;
        }
        session.quit();
      } catch (err) {
        if (relay.child.signalCode === null && !killing) throw new Error(`a relay that was not being killed refused or broke off ${sending ?? 'a session'}: ${(err as Error).message}`);
        if (sending !== undefined) unacknowledged.push(sending);
        if (generations.length - 1 === generation) await nextGeneration(generation);
      }
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  await until(() => windows.length === KILLS && !killing);
  // everything queued has been delivered (or given up on, which would show as lost)
  await until(async () => (await queuedIds(queue)).length === 0, 200);

  t.equal(generations.length, KILLS + 1, `killed ${KILLS} times and restarted each time`);
  t.same(sink.truncated, [], 'no message arrived in part');
  const lost = acknowledged.filter((id) => !sink.deliveries.has(id));
  t.same(lost, [], `none of the ${acknowledged.length} messages that got a 250 was lost`);

  const duplicates = [...sink.deliveries].filter(([, count]) => count > 1);
  const unexplained = duplicates.filter(([id, count]) => count - 1 > windows.filter((window) => window.includes(id)).length);
  t.comment(
    `${acknowledged.length} messages got a 250, ${unacknowledged.length} were cut off by a kill; ${sink.deliveries.size} distinct messages arrived; ` +
      `at the kills the sink had taken and the queue still held: ${windows.map((window) => `[${window.join(', ')}]`).join(' ')}; ` +
      `${duplicates.length} duplicates${duplicates.length > 0 ? `: ${duplicates.map(([id, count]) => `${id} ×${count}`).join(', ')}` : ''}`,
  );
  t.same(unexplained, [], 'every duplicate was taken by the sink and still queued at a kill, and arrived again at most once per such kill');
  t.ok(
    windows.every((window) => window.length <= PER_HOST),
    `at each kill at most ${PER_HOST} message (one per connection to the sink) was between the sink's 250 and its record`,
  );
  const extra = duplicates.reduce((sum, [, count]) => sum + count - 1, 0);
  t.ok(extra <= KILLS * PER_HOST, `${extra} duplicate deliveries for ${KILLS} kills: at most one per kill`);

  t.equal(await generations.at(-1)!.stop(), 0, 'the last relay stops cleanly');
});
