// MX routing through a DNS server on loopback: delivered, bounced with a DSN on NXDOMAIN,
// deferred on SERVFAIL — the relay never drops a message it answered 250 for.
import t from 'tap';
import { startDnsServer } from '../helpers/dnsServer.js';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

t.test('MX delivery, NXDOMAIN bounce, SERVFAIL deferral', async (t) => {
  const sink = await startSink({ tls: 'starttls' });
  const dns = await startDnsServer({
    'mx.test': { MX: [{ preference: 10, exchange: 'mx1.mx.test' }] },
    'mx1.mx.test': { A: ['127.0.0.1'] },
    'client.test': { MX: [{ preference: 10, exchange: 'mx1.mx.test' }] },
    'nx.test': 'NXDOMAIN',
    'fail.test': 'SERVFAIL',
  });
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
dns: { servers: ["127.0.0.1:${dns.port}"] }
delivery: { port: ${sink.port} }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
    await dns.close();
  });
  const port = await relay.port();
  const send = async (to: string): Promise<string> => {
    const result = await submit({ port, from: 'sender@client.test', to: [to], data: sampleMessage(to) });
    t.match(result, { ok: true }, `${to} accepted`);
    return result.ok ? /queued as (\S+)/.exec(result.response)![1]! : 'none';
  };
  const attemptOf = (id: string) => relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, `attempt of ${id}`);

  const viaMx = await attemptOf(await send('user@mx.test'));
  t.match(viaMx, { outcome: 'delivered', host: 'mx1.mx.test', connector: 'default', tlsLevel: 'opportunistic', code: 250 }, 'delivered to the MX host');
  t.equal(viaMx.verdict, 'untrusted', 'opportunistic records the self-signed certificate as untrusted');
  t.equal(sink.received.find((m) => m.to.includes('user@mx.test'))?.servername, 'mx1.mx.test', 'SNI names the MX host');

  const nxId = await send('user@nx.test');
  const nx = await attemptOf(nxId);
  t.match(nx, { outcome: 'bounced', code: 550 }, 'NXDOMAIN bounces');
  t.match(nx.response, /5\.1\.2 Host or domain name not found/);
  await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === nxId, 'the bounce');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered' && sink.received.some((m) => m.from === ''), 'the DSN delivered');
  const dsn = sink.received.find((m) => m.from === '')!;
  t.same(dsn.to, ['sender@client.test'], 'the DSN goes to the sender, from the null sender');
  t.match(dsn.data, /Content-Type: multipart\/report; report-type=delivery-status/i);
  t.match(dsn.data, /Final-Recipient: rfc822; ?user@nx\.test/i);
  t.match(dsn.data, /Status: 5\.1\.2/);
  t.match(dsn.data, /Action: failed/);

  const fail = await attemptOf(await send('user@fail.test'));
  t.match(fail, { outcome: 'deferred', code: 451 }, 'SERVFAIL defers');
  t.match(fail.response, /4\.4\.3 /);
  t.notOk(sink.received.some((m) => m.to.includes('user@fail.test')), 'nothing delivered for it');
});
