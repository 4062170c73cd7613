// A message that got 250 survives kill -9 of the relay and is delivered after the restart.
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

t.test('queued messages are delivered after a kill -9 and a restart', async (t) => {
  const dir = t.testdir();
  const nextHopPort = await freePort();
  const config = writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1s] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${nextHopPort}"], tls: opportunistic }
`,
  );

  const first = startRelay(config);
  const port = await first.port();
  const ids: string[] = [];
  for (let n = 0; n < 3; n++) {
    const result = await submit({ port, from: 'a@client.test', to: [`user${n}@partner.test`], data: sampleMessage(`survivor ${n}`) });
    t.match(result, { ok: true }, `message ${n} accepted`);
    if (result.ok) ids.push(/queued as (\S+)/.exec(result.response)![1]!);
  }
  // the next hop is down: each message is attempted, deferred and kept
  for (const id of ids) {
    const attempt = await first.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, `attempt of ${id}`);
    t.equal(attempt.outcome, 'deferred', `${id} deferred while the next hop is down`);
    t.match(attempt.response, /^4\d\d /, 'with a temporary code');
  }
  await first.kill9();

  const sink = await startSink({ tls: 'starttls' });
  t.teardown(() => sink.close());
  // the sink must listen where the connector points; restart the relay pointed at it
  const restartedConfig = writeConfig(dir, (await import('node:fs')).readFileSync(config, 'utf8').replace(`127.0.0.1:${nextHopPort}`, `127.0.0.1:${sink.port}`));
  const second = startRelay(restartedConfig);
  t.teardown(() => second.stop());
  for (const id of ids) {
    await second.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === 'delivered', `delivery of ${id}`);
  }
  const subjects = sink.received.map((m) => /Subject: (.*)\r\n/.exec(m.data)?.[1]).sort();
  t.same(subjects, ['survivor 0', 'survivor 1', 'survivor 2'], 'every message arrived, once');
});
