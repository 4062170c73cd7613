// swaks, the administrator's tool, drives the relay as it would in a real check.
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { needsSwaks, runTool, type ToolRun } from '../helpers/tools.js';

const swaks = (args: string[]): Promise<ToolRun> => runTool('swaks', args);

t.test('swaks --tls: accepted after STARTTLS, relayed over TLS; an unknown domain from outside is refused', needsSwaks(), async (t) => {
  const sink = await startSink({ tls: 'starttls' });
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: onprem, domains: [contoso.test, example.com], smartHosts: ["127.0.0.1:${sink.port}"], tls: encrypt }
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();

  const sent = await swaks(['--server', `127.0.0.1:${port}`, '--tls', '--from', 'a@localhost', '--to', 'someone@example.com', '--header', 'Subject: via swaks']);
  t.equal(sent.code, 0, 'swaks exits 0');
  t.match(sent.output, /-> STARTTLS\n<-\s+220 [^\n]*\n=== TLS started with cipher TLSv1\.3/, 'STARTTLS was used');
  t.match(sent.output, /<~\s+250 2\.0\.0 Ok: queued as [0-9a-f]+/, '250 after DATA, inside TLS');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'delivery');
  t.equal(sink.received.length, 1);
  t.equal(sink.received[0]!.protocol, 'TLSv1.3');
  t.match(sink.received[0]!.data, /with ESMTPS \(version=TLSv1\.3 cipher=TLS_\w+ verified=no\)/);
  t.match(sink.received[0]!.data, /Subject: via swaks/);

  // 127.0.0.2 is loopback too, but outside the local connector's range: not allowed to relay
  const refused = await swaks(['--server', `127.0.0.1:${port}`, '--local-interface', '127.0.0.2', '--tls', '--from', 'a@localhost', '--to', 'someone@elsewhere.test']);
  t.equal(refused.code, 24, 'swaks: no recipient accepted');
  t.match(refused.output, /<~\*?\s+550 5\.7\.1 Relaying denied/);
});
