// `npm run bench`: a load generator for the relay. N concurrent SMTP clients send M
// messages of S KB through the real relay (child process, dist/) to a local sink, and
// the figures that matter for a relay are printed: messages per second, the latency
// from the relay's 250 to arrival at the sink (p50, p99), and the relay's peak RSS.
//
//   npm run bench -- --clients 20 --messages 2000 --size 10 --tls starttls
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { startRelay } from '../helpers/relayProcess.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10' },
    messages: { type: 'string', default: '1000' },
    size: { type: 'string', default: '10' },
    tls: { type: 'string', default: 'starttls' },
  },
});
const clients = Number(values.clients);
const total = Number(values.messages);
const sizeKb = Number(values.size);
const inboundTls = values.tls === 'none' ? 'none' : 'starttls';

const accepted = new Map<string, number>();
const arrived = new Map<string, number>();
let allArrived: () => void = () => undefined;
const done = new Promise<void>((resolve) => (allArrived = resolve));

const sink = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  disableReverseLookup: true,
  logger: false,
  onData(stream, _session, callback) {
    let head = '';
    stream.on('data', (chunk: Buffer) => {
      if (head.length < 4096) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      const id = /X-Bench-Id: (\S+)/.exec(head)?.[1];
      if (id && !arrived.has(id)) arrived.set(id, performance.now());
      if (arrived.size === total) allArrived();
      callback();
    });
  },
});
sink.on('error', () => undefined);
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkPort = (sink.server.address() as { port: number }).port;

const dir = mkdtempSync(join(tmpdir(), 'tlsrelay-bench-'));
const configFile = join(dir, 'tlsrelay.yaml');
// each client sends all the messages it takes over one connection: up to `total` of them
writeFileSync(
  configFile,
  `listeners: [{ name: smtp, port: 0, tls: ${inboundTls} }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1s] }
smtp: { maxConnectionsPerIp: ${clients + 10}, maxClients: ${clients + 10}, maxMessagesPerConnection: ${total} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sinkPort}"], tls: none }]
`,
);
const relay = startRelay(configFile);
const port = await relay.port();

const body = `${'x'.repeat(76)}\r\n`.repeat(Math.max(1, Math.round((sizeKb * 1024) / 78)));
let next = 0;
const started = performance.now();
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssOf(relay.child.pid!))), 100);

async function client(): Promise<void> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, requireTLS: inboundTls === 'starttls', ignoreTLS: inboundTls === 'none', tls: { rejectUnauthorized: false } });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  while (next < total) {
    const id = `m${next++}`;
    const message = `From: a@bench.test\r\nTo: b@bench.test\r\nSubject: bench\r\nX-Bench-Id: ${id}\r\n\r\n${body}`;
    await new Promise<void>((resolve, reject) =>
      conn.send({ from: 'a@bench.test', to: ['b@bench.test'] }, message, (err) => {
        if (err) reject(err);
        else {
          accepted.set(id, performance.now());
          conn.reset(() => resolve());
        }
      }),
    );
  }
  conn.quit();
}

await Promise.all(Array.from({ length: clients }, client));
const acceptedAt = performance.now();
await done;
const finished = performance.now();
clearInterval(rssTimer);
peakRss = Math.max(peakRss, rssOf(relay.child.pid!));

const latencies = [...arrived].map(([id, at]) => at - accepted.get(id)!).sort((a, b) => a - b);
const percentile = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
console.log(
  JSON.stringify(
    {
      clients,
      messages: total,
      sizeKb,
      inboundTls,
      acceptedPerSecond: Math.round((total / (acceptedAt - started)) * 1000),
      deliveredPerSecond: Math.round((total / (finished - started)) * 1000),
      latencyMs: { p50: Math.round(percentile(50)), p99: Math.round(percentile(99)) },
      relayPeakRssMb: Math.round(peakRss / 1024),
    },
    null,
    2,
  ),
);
await relay.stop();
await new Promise<void>((resolve) => sink.close(() => resolve()));
rmSync(dir, { recursive: true, force: true });

/** Peak resident set size (VmHWM) of a process, in KiB. */
function rssOf(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

