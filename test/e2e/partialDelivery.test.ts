// A message for two domains: one has taken it, the other is still at it when the relay
// is killed (kill -9). The first domain's recipient was recorded as delivered the moment
// its domain was done, so the restarted relay sends the message only to the second.
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

t.test('kill -9 while one domain of a message is still being tried: the domain that took it does not get it again', async (t) => {
  const fast = await startSink({ tls: 'none' });
  let reachedSlow: () => void = () => undefined;
  const slowReached = new Promise<void>((resolve) => (reachedSlow = resolve));
  let holds = 0;
  // the first delivery to slow.test never gets its 250: the relay dies waiting for it
  const slow = await startSink({
    tls: 'none',
    beforeDataReply: () => {
      if (holds++ > 0) return Promise.resolve();
      reachedSlow();
      return new Promise<void>(() => undefined);
    },
  });
  t.teardown(async () => {
    await fast.close();
    await slow.close();
  });
  const config = writeConfig(
    t.testdir(),
    `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: fast, domains: [fast.test], smartHosts: ["127.0.0.1:${fast.port}"], tls: none }
  - { name: slow, domains: [slow.test], smartHosts: ["127.0.0.1:${slow.port}"], tls: none }
`,
  );

  const first = startRelay(config);
  const sent = await submit({ port: await first.port(), tls: 'none', from: 'a@client.test', to: ['u@fast.test', 'u@slow.test'], data: sampleMessage('two domains') });
  t.match(sent, { ok: true });
  await slowReached;
  const recorded = await first.waitForLog((line) => line.msg === 'deliveries recorded while other domains are still being tried', 'the first domain recorded');
  t.match(recorded, { domain: 'fast.test', recipients: 1 });
  t.equal(fast.received.length, 1);
  await first.kill9();

  const second = startRelay(config);
  t.teardown(() => second.stop());
  const delivered = await second.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'the delivery after the restart');
  t.match(delivered, { domain: 'slow.test' }, 'the restarted relay sends it to the domain still open');
  await second.waitForLog((line) => line.msg === 'delivery attempt' && line.domain === 'slow.test' && line.outcome === 'delivered', 'slow.test delivered');
  t.same(
    fast.received.map((message) => message.to),
    [['u@fast.test']],
    'fast.test has its one copy',
  );
  t.same(
    slow.received.map((message) => message.to),
    [['u@slow.test'], ['u@slow.test']],
    'slow.test got it again: its 250 never reached the relay (at-least-once)',
  );
  t.notOk(
    second.logs.some((line) => line.msg === 'delivery attempt' && line.domain === 'fast.test'),
    'no attempt for fast.test after the restart',
  );
});
