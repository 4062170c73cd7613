// Several relay instances on one shared queue in PostgreSQL (issue 15): a private cluster
// started here, relay processes with folders of their own and the same database.
//
// Three relays take 1,000 messages from senders spread over them while one is killed with
// SIGKILL in the middle of its deliveries. Every message that got a 250 — from any
// instance, the dead one too — must arrive at the sink; the others deliver the dead one's
// messages once its claims are gone (its process is gone from this host at once; from
// another host, when the lease ends) and they read the queue again. A duplicate can only
// be a message the dead instance had handed to the sink without recording it yet: at most
// one per connection it had to the sink (delivery.perHost).
//
// Then the database is restarted under a running relay: while it is down, DATA gets
// 451 4.3.0 and nothing is lost; once it is back, intake and delivery resume by themselves.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { openQueue } from '../../src/queue/openQueue.js';
import { adminRequest } from '../helpers/adminHttp.js';
import { messageText, startCountingSink, type CountingSink } from '../helpers/countingSink.js';
import { needsPostgres, startPostgres } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { submit } from '../helpers/smtpClient.js';
import { openSmtpSession } from '../helpers/smtpSession.js';
import { until } from '../helpers/until.js';

const MESSAGES = 1000;
const SENDERS = 9;
const INSTANCES = 3;
/** Connections each relay may hold to the sink: at a kill, the messages that can be between the sink's 250 and its record. */
const PER_HOST = 2;

/** A relay's config in a folder of its own under `root` (its spool, transit record and caches stay local), on the database at `url`. */
function relayConfig(root: string, name: string, url: string, sink: CountingSink, extra = ''): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return writeConfig(
    dir,
    `server: { hostname: ${name}.relay.test }
listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1s], postgres: { url: "${url}", leaseSeconds: 10 } }
smtp: { maxClients: 50, maxConnectionsPerIp: 50, maxMessagesPerConnection: ${MESSAGES} }
delivery: { perHost: ${PER_HOST} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: [sink.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
${extra}`,
  );
}

const alive = (relay: RelayProcess): boolean => relay.child.exitCode === null && relay.child.signalCode === null;

t.test('relays on one shared queue', needsPostgres(), async (t) => {
  const cluster = await startPostgres();
  t.teardown(() => cluster.stop());

  t.test(`${INSTANCES} instances, ${MESSAGES} messages, one killed with SIGKILL mid-delivery: every message that got a 250 arrives`, async (t) => {
    await cluster.sql('CREATE DATABASE several');
    const url = cluster.urlOf('several');
    const sink = await startCountingSink();
    t.teardown(() => sink.close());
    const root = t.testdir();
    const configs = ['a', 'b', 'c'].slice(0, INSTANCES).map((name) => relayConfig(root, name, url, sink));
    const relays = configs.map((config) => startRelay(config));
    t.teardown(async () => {
      for (const relay of relays) if (alive(relay)) await relay.kill9();
    });
    const ports = await Promise.all(relays.map((relay) => relay.port()));

    // the first instance dies a third of the way through the deliveries, as they arrive
    const victim = relays[0]!;
    let killedAt = 0;
    sink.onDelivery = (total, reply) => {
      reply();
      if (killedAt === 0 && total >= MESSAGES / 3) {
        killedAt = total;
        victim.child.kill('SIGKILL');
      }
    };

    const acknowledged: string[] = [];
    const cutOff: string[] = [];
    let next = 0;
    /** Sender k starts on instance k mod N; when its instance dies it goes on with the next live one. */
    const sender = async (k: number): Promise<void> => {
      for (let at = k % INSTANCES; next < MESSAGES; at = (at + 1) % INSTANCES) {
        const relay = relays[at]!;
        if (!alive(relay)) continue;
        let sending: string | undefined;
        try {
          const session = await openSmtpSession({ port: ports[at]!, tls: 'none' });
          while (next < MESSAGES) {
            sending = `m${next++}`;
            await session.send({ from: 'sender@client.test', to: [`${sending}@sink.test`] }, messageText(sending));
            acknowledged.push(sending);
            sending = undefined;
          }
          session.quit();
        } catch (err) {
          if (relay !== victim) throw new Error(`an instance that was not killed refused or broke off ${sending ?? 'a session'}: ${(err as Error).message}`);
          if (sending !== undefined) cutOff.push(sending);
          await victim.exited;
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, (_, k) => sender(k)));
    t.ok(killedAt > 0, `instance a was killed after ${killedAt} deliveries`);
    t.ok(acknowledged.length >= MESSAGES - cutOff.length, 'the senders went on with the other instances');

    // the queue as `tlsrelay queue list` reads it, from any machine with the config
    const queue = await openQueue(loadConfig(configs[1]!, 'b.relay.test').queue, createLogger('silent'));
    t.teardown(() => queue.close());
    // the others find what the dead one left at their next full read of the queue (a minute at most)
    await until(async () => (await queue.list()).length === 0, 500);

    t.same(sink.truncated, [], 'no message arrived in part');
    const lost = acknowledged.filter((id) => !sink.deliveries.has(id));
    t.same(lost, [], `none of the ${acknowledged.length} messages that got a 250 was lost`);
    const duplicates = [...sink.deliveries].filter(([, count]) => count > 1);
    const extra = duplicates.reduce((sum, [, count]) => sum + count - 1, 0);
    t.comment(
      `${acknowledged.length} messages got a 250 (${cutOff.length} cut off by the kill); ${sink.deliveries.size} distinct arrived; ` +
        `${extra} duplicate deliveries${duplicates.length > 0 ? `: ${duplicates.map(([id, count]) => `${id} ×${count}`).join(', ')}` : ''}`,
    );
    t.ok(extra <= PER_HOST, `${extra} duplicates: at most the ${PER_HOST} deliveries the killed instance can have had in flight`);
    const acceptedByVictim = new Set(victim.logs.filter((line) => line.msg === 'message accepted').map((line) => line.queueId));
    const deliveredByOthers = relays.slice(1).flatMap((relay) => relay.logs.filter((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered').map((line) => line.queueId));
    const takenOver = deliveredByOthers.filter((id) => acceptedByVictim.has(id));
    t.comment(`${takenOver.length} messages the killed instance had accepted were delivered by the others`);
    t.ok(takenOver.length > 0, "the others delivered messages the killed instance had accepted and not delivered");
    for (const relay of relays.slice(1)) t.equal(await relay.stop(), 0, 'a live instance stops cleanly');
  });

  t.test('the database restarts under a running relay: 451 4.3.0 while it is down, nothing lost, both sides resume', async (t) => {
    await cluster.sql('CREATE DATABASE restarted');
    const sink = await startCountingSink();
    t.teardown(() => sink.close());
    const relay = startRelay(relayConfig(t.testdir(), 'solo', cluster.urlOf('restarted'), sink, 'admin: { port: 0 }\n'));
    t.teardown(async () => {
      if (alive(relay)) await relay.kill9();
    });
    const port = await relay.port();
    const admin = (await relay.waitForLog((line) => line.msg === 'admin listening', 'the admin listener')).port as number;
    const ready = await adminRequest(admin, '/readyz');
    t.equal(ready.status, 200, `ready while the database runs (${ready.body.trim()})`);
    const send = (id: string) => submit({ port, tls: 'none', from: 'sender@client.test', to: [`${id}@sink.test`], data: messageText(id) });

    const before = await Promise.all(['r1', 'r2', 'r3'].map(send));
    t.ok(before.every((result) => result.ok), 'accepted while the database runs');
    await until(() => sink.deliveries.size === 3);

    await cluster.halt();
    const whileDown = await Promise.all(['d1', 'd2', 'd3'].map(send));
    for (const result of whileDown) t.match(result, { ok: false, code: 451, response: /^451 4\.3\.0 / }, 'refused for now, never a 250 it cannot keep');
    const outages = relay.logs.filter((line) => String(line.msg).startsWith('the queue database cannot be reached'));
    t.equal(outages.length, 1, 'the outage is logged once, not per message');
    const down = await adminRequest(admin, '/readyz');
    t.match(down, { status: 503, body: /queue not reachable/ }, 'not ready: a load balancer sends the mail elsewhere');

    await cluster.start();
    t.equal((await adminRequest(admin, '/readyz')).status, 200, 'ready again');
    const after = await Promise.all(['a1', 'a2', 'a3'].map(send));
    t.ok(after.every((result) => result.ok), 'accepted again once the database is back, without a restart of the relay');
    await until(() => ['a1', 'a2', 'a3'].every((id) => sink.deliveries.has(id)));
    t.same(
      [...sink.deliveries.keys()].sort(),
      ['a1', 'a2', 'a3', 'r1', 'r2', 'r3'],
      'what got a 250 arrived; what got a 451 did not',
    );
    t.ok(relay.logs.some((line) => String(line.msg).startsWith('the queue database is reachable again')), 'the return is logged');
    t.equal(await relay.stop(), 0, 'the relay stops cleanly');
  });

  t.test('a database that cannot be reached at start: exit 2 before anything listens, the key named, the password not', async (t) => {
    const dir = t.testdir();
    const config = writeConfig(dir, `listeners: [{ name: smtp, port: 0, tls: none }]
queue:
  dir: spool
  postgres: { url: "postgres://relay:s3cret@127.0.0.1:${await freePort()}/mail" }
`);
    const { code, stdout, stderr } = await runCli(['start', '-c', config]);
    t.equal(code, 2);
    t.match(stderr, new RegExp(`^${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:20: queue\\.postgres\\.url: cannot open the queue database postgres://relay:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/mail: `), 'FILE:LINE:COL and the key, the URL without its password');
    t.notMatch(stdout + stderr, 's3cret', 'the password nowhere');
    t.notMatch(stdout, /"listening"/, 'no listener was started');
  });
});
