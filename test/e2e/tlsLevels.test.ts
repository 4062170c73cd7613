// The relay as a child process, end to end: a client submits over STARTTLS, the relay
// spools the message and delivers it to real SMTP peers under each TLS level.
import t from 'tap';
import { startSink, type Sink, type SinkTls } from '../helpers/peers.js';
import { startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

type Level = 'none' | 'opportunistic' | 'encrypt';
type PeerKind = Extract<SinkTls, 'none' | 'starttls' | 'broken-handshake'>;

interface Expectation {
  outcome: 'delivered' | 'deferred';
  /** On the wire to the sink: null for plaintext. */
  protocol?: 'TLSv1.3' | null;
  response?: RegExp;
  connections?: number;
}

// What ARCHITECTURE's TLS level table promises, peer by peer.
const expectations: Record<Level, Record<PeerKind, Expectation>> = {
  none: {
    none: { outcome: 'delivered', protocol: null, connections: 1 },
    starttls: { outcome: 'delivered', protocol: null, connections: 1 },
    'broken-handshake': { outcome: 'delivered', protocol: null, connections: 1 },
  },
  opportunistic: {
    none: { outcome: 'delivered', protocol: null, connections: 1 },
    starttls: { outcome: 'delivered', protocol: 'TLSv1.3', connections: 1 },
    // the handshake fails, then a new plaintext connection to the same host
    'broken-handshake': { outcome: 'delivered', protocol: null, connections: 2 },
  },
  encrypt: {
    none: { outcome: 'deferred', response: /^450 4\.7\.4 TLS is required, but was not offered by host 127\.0\.0\.1$/, connections: 1 },
    starttls: { outcome: 'delivered', protocol: 'TLSv1.3', connections: 1 },
    'broken-handshake': { outcome: 'deferred', response: /^450 4\.7\.5 Cannot start TLS: handshake failure/, connections: 1 },
  },
};

const levels = Object.keys(expectations) as Level[];
const peerKinds: PeerKind[] = ['none', 'starttls', 'broken-handshake'];
const domainOf = (level: Level, peer: PeerKind): string => `${level}-${peer}.test`;

/** The attempt that settled the message (an opportunistic fallback logs the failed TLS connection first). */
const settlingAttempt = (relay: RelayProcess, queueId: string, outcome: string): Promise<LogLine> =>
  relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === queueId && line.outcome === outcome, `the ${outcome} attempt of ${queueId}`);

const attemptsOf = (relay: RelayProcess, queueId: string): LogLine[] =>
  relay.logs.filter((line) => line.msg === 'delivery attempt' && line.queueId === queueId);

const queueIdOf = (response: string): string => /queued as ([0-9a-f]+)/.exec(response)?.[1] ?? 'none';

t.test('each level against each kind of peer', async (t) => {
  const sinks = new Map<string, Sink>();
  for (const level of levels) {
    for (const peer of peerKinds) sinks.set(domainOf(level, peer), await startSink({ tls: peer }));
  }
  const fallbackOff = await startSink({ tls: 'broken-handshake' });
  const dir = t.testdir();
  const connectors = [...sinks].map(
    ([domain, sink]) => `  - { name: ${domain.replace('.test', '')}, domains: [${domain}], smartHosts: ["127.0.0.1:${sink.port}"], tls: ${domain.split('-')[0]} }`,
  );
  connectors.push(`  - { name: no-fallback, domains: [no-fallback.test], smartHosts: ["127.0.0.1:${fallbackOff.port}"], tls: opportunistic, plaintextFallback: false }`);
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
${connectors.join('\n')}
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    for (const sink of [...sinks.values(), fallbackOff]) await sink.close();
  });
  const port = await relay.port();

  for (const level of levels) {
    for (const peer of peerKinds) {
      const domain = domainOf(level, peer);
      const expected = expectations[level][peer];
      const sink = sinks.get(domain)!;
      const submitted = await submit({ port, from: 'sender@client.test', to: [`user@${domain}`], data: sampleMessage(domain) });
      t.ok(submitted.ok, `${domain}: accepted by the relay`);
      if (!submitted.ok) continue;
      const queueId = queueIdOf(submitted.response);
      const attempt = await settlingAttempt(relay, queueId, expected.outcome);
      t.equal(attemptsOf(relay, queueId).length, expected.connections, `${domain}: one attempt line per connection`);

      t.equal(attempt.outcome, expected.outcome, `${domain}: ${expected.outcome}`);
      t.equal(attempt.tlsLevel, level, `${domain}: logged level`);
      t.equal(attempt.connector, domain.replace('.test', ''), `${domain}: logged connector`);
      for (const field of ['queueId', 'domain', 'connector', 'tlsLevel', 'host', 'tls', 'verdict', 'outcome', 'code', 'response']) {
        t.ok(field in attempt, `${domain}: log line has ${field}`);
      }
      if (expected.outcome === 'delivered') {
        t.equal(sink.received.length, 1, `${domain}: the sink got the message`);
        const got = sink.received[0]!;
        t.equal(got.protocol, expected.protocol, `${domain}: ${expected.protocol ?? 'plaintext'} on the wire`);
        t.same(attempt.tls === null ? null : (attempt.tls as { protocol: string }).protocol, expected.protocol, `${domain}: logged tls`);
        t.equal(attempt.code, 250);
        t.same(got.to, [`user@${domain}`]);
        t.match(got.data, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(tlsrelay\) with ESMTPS \(version=TLSv1\.[23] cipher=\S+ verified=no\)/, `${domain}: Received header names the inbound TLS`);
        t.match(got.data, new RegExp(`Subject: ${domain}`), `${domain}: the message itself`);
      } else {
        t.equal(sink.received.length, 0, `${domain}: nothing reached the sink`);
        t.match(attempt.response, expected.response!, `${domain}: deferral text`);
        t.equal(attempt.code, 450);
        t.equal(attempt.verdict, 'none');
      }
      t.equal(sink.connections, expected.connections, `${domain}: ${expected.connections} connection(s)`);
      if (level === 'opportunistic' && peer === 'broken-handshake') {
        const [failed] = attemptsOf(relay, queueId);
        t.match(failed, { outcome: 'deferred', tls: null, verdict: 'none' }, 'the failed TLS connection is logged as an attempt of its own');
        t.match(failed!.response, /4\.7\.5 Cannot start TLS: handshake failure/);
      }
    }
  }

  const noFallback = await submit({ port, from: 'sender@client.test', to: ['user@no-fallback.test'], data: sampleMessage('no fallback') });
  t.ok(noFallback.ok);
  if (noFallback.ok) {
    const attempt = await settlingAttempt(relay, queueIdOf(noFallback.response), 'deferred');
    t.equal(attemptsOf(relay, queueIdOf(noFallback.response)).length, 1, 'plaintextFallback: false defers instead of falling back');
    t.match(attempt.response, /^450 4\.7\.5 Cannot start TLS: handshake failure/);
    t.equal(fallbackOff.connections, 1, 'no second, plaintext connection');
    t.equal(fallbackOff.received.length, 0);
  }
});
