// require.ips through the relay process: a partner's sender domain is taken only from the
// partner's own addresses. 127.0.0.2 is loopback too, so the client binds to it to come
// from outside the range.
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

t.test('require.ips: the sender domain only from the connector ranges', async (t) => {
  const sink = await startSink({ tls: 'none' });
  t.teardown(() => sink.close());
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
inbound:
  - name: partner-fabrikam
    match: { senderDomains: [fabrikam.test] }
    require: { ips: [127.0.0.1/32] }
outbound:
  - { name: onprem, domains: [contoso.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }
`,
    ),
  );
  t.teardown(() => relay.stop());
  const port = await relay.port();
  const send = (localAddress: string, from: string) =>
    submit({ port, tls: 'none', localAddress, from, to: ['ap@contoso.test'], data: sampleMessage(`${from} from ${localAddress}`) });

  const outside = await send('127.0.0.2', 'billing@fabrikam.test');
  t.match(outside, { ok: false, stage: 'MAIL', code: 550 }, 'from outside the range: MAIL FROM refused');
  t.equal(outside.response, '550 5.7.1 Connector "partner-fabrikam" does not accept this sender from 127.0.0.2');
  t.match(await send('127.0.0.2', 'someone@elsewhere.test'), { ok: true }, "from outside the range, another sender domain is not the connector's to judge");
  const inside = await send('127.0.0.1', 'billing@fabrikam.test');
  t.match(inside, { ok: true, response: /^250 2\.0\.0 Ok: queued as / }, 'from inside the range: accepted');

  const accepted = await relay.waitForLog((line) => line.msg === 'message accepted' && line.from === 'billing@fabrikam.test', 'the partner message');
  t.equal(accepted.connector, 'partner-fabrikam', 'taken under the partner connector');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === accepted.queueId && line.outcome === 'delivered', 'its delivery');
  t.same(
    sink.received.filter((message) => message.from === 'billing@fabrikam.test').map((message) => /Subject: (.*)\r\n/.exec(message.data)?.[1]),
    ['billing@fabrikam.test from 127.0.0.1'],
    'only the message from inside the range was relayed on',
  );
});
