// `npm run bench`: a load generator for the relay. N concurrent SMTP clients send M
// messages of S KB through the real relay (child process, dist/) to a local sink, and
// the figures that matter for a relay are printed: messages per second, the latency
// from the relay's 250 to arrival at the sink (p50, p99), and the relay's peak RSS.
//
//   npm run bench -- --clients 20 --messages 2000 --size 10 --tls starttls [--spool DIR] [--stall 600] [--strace] [--admin] [--scrape 1] [--postgres N]
//
// --postgres N runs N relay instances on one shared queue in a private PostgreSQL cluster
// started for the run (initdb in the scratch folder, fsync on as in production), the clients
// spread over them; the relays' CPU and RSS are summed, the database's is not counted.
// --admin turns the admin listener on (and with it the metrics the relay keeps per message);
// --scrape S does too and fetches its /metrics every S seconds for the whole run, as a
// Prometheus would: run with neither, --admin and --scrape to see what each costs.
// It also prints the relay's CPU time per message over the load (user + system, from
// /proc, from the first client's connect to the last arrival). --strace attaches
// `strace -c -f` to the relay for the same span and prints its system calls per message
// (strace slows the relay down: take the rate from a run without it).
// --spool DIR puts the spool in a fresh folder under DIR (removed afterwards), so that the
// fsyncs land on the disk being measured; by default it is under the system temp dir.
// A bench is not a test: when neither a 250 nor an arrival has happened for --stall
// seconds (default 600) it gives up with an error, and whatever way it ends, the relay
// child is stopped and the scratch folders are removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { startRelay, type RelayProcess } from '../helpers/relayProcess.js';
import { openSmtpSession } from '../helpers/smtpSession.js';
import { statusKib } from './procStatus.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10' },
    messages: { type: 'string', default: '1000' },
    size: { type: 'string', default: '10' },
    tls: { type: 'string', default: 'starttls' },
    spool: { type: 'string' },
    stall: { type: 'string', default: '600' },
    strace: { type: 'boolean', default: false },
    admin: { type: 'boolean', default: false },
    scrape: { type: 'string' },
    postgres: { type: 'string' },
  },
});
const clients = Number(values.clients);
const total = Number(values.messages);
const sizeKb = Number(values.size);
const inboundTls = values.tls === 'none' ? 'none' : 'starttls';
const stallMs = Number(values.stall) * 1000;
const scrapeMs = values.scrape === undefined ? undefined : Number(values.scrape) * 1000;
const withAdmin = values.admin || scrapeMs !== undefined;
const instances = values.postgres === undefined ? 1 : Number(values.postgres);

const accepted = new Map<string, number>();
const arrived = new Map<string, number>();
let lastProgress = performance.now();
let allArrived: () => void = () => undefined;
const done = new Promise<void>((resolvePromise) => (allArrived = resolvePromise));

/** Rejects once nothing has been accepted or has arrived for `stallMs`; `stop` ends the watch. */
function stallWatch(): { stalled: Promise<never>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (performance.now() - lastProgress < stallMs) return;
      reject(new Error(`no progress for ${values.stall} s: ${accepted.size} of ${total} messages accepted, ${arrived.size} arrived at the sink`));
    }, Math.min(1000, stallMs));
  });
  // raced by every phase of the run; a rejection between phases must not crash it
  stalled.catch(() => undefined);
  return { stalled, stop: () => clearInterval(timer) };
}

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
      if (id && !arrived.has(id)) {
        arrived.set(id, performance.now());
        lastProgress = performance.now();
      }
      if (arrived.size === total) allArrived();
      callback();
    });
  },
});
sink.on('error', () => undefined);

const scratch = mkdtempSync(join(tmpdir(), 'tlsrelay-bench-'));
const spoolDir = values.spool === undefined ? join(scratch, 'spool') : mkdtempSync(join(resolve(values.spool), 'tlsrelay-bench-spool-'));
const body = `${'x'.repeat(76)}\r\n`.repeat(Math.max(1, Math.round((sizeKb * 1024) / 78)));
let next = 0;

/** One client: sends messages over one connection until all are taken; a refusal or a broken connection fails the bench. */
async function client(port: number): Promise<void> {
  const session = await openSmtpSession({ port, tls: inboundTls });
  while (next < total) {
    const id = `m${next++}`;
    const message = `From: a@bench.test\r\nTo: b@bench.test\r\nSubject: bench\r\nX-Bench-Id: ${id}\r\n\r\n${body}`;
    await session.send({ from: 'a@bench.test', to: ['b@bench.test'] }, message);
    accepted.set(id, performance.now());
    lastProgress = performance.now();
  }
  session.quit();
}

const relays: RelayProcess[] = [];
let cluster: PostgresCluster | undefined;
let tracer: ChildProcess | undefined;
let peakRss = 0;
let rssTimer: NodeJS.Timeout | undefined;
let scraper: { stop: () => { every: string; count: number; failed: number } } | undefined;
const watch = stallWatch();
try {
  await new Promise<void>((resolveListen) => sink.listen(0, '127.0.0.1', resolveListen));
  const sinkPort = (sink.server.address() as { port: number }).port;
  if (values.postgres !== undefined) cluster = await startPostgres({ durable: true });
  for (let k = 0; k < instances; k++) {
    const configFile = join(scratch, `tlsrelay-${k}.yaml`);
    const shared = cluster === undefined ? '' : `, postgres: { url: ${JSON.stringify(cluster.url)} }`;
    writeFileSync(
      configFile,
      // each client sends all the messages it takes over one connection: up to `total` of them
      `listeners: [{ name: smtp, port: 0, tls: ${inboundTls} }]
tls: { cert: relay-${k}.crt, key: relay-${k}.key, generateIfMissing: true }
queue: { dir: ${JSON.stringify(instances === 1 ? spoolDir : `${spoolDir}-${k}`)}, retry: [1s]${shared} }
smtp: { maxConnectionsPerIp: ${clients + 10}, maxClients: ${clients + 10}, maxMessagesPerConnection: ${total} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sinkPort}"], tls: none }]
${withAdmin ? 'admin: { address: 127.0.0.1, port: 0 }\n' : ''}`,
    );
    relays.push(startRelay(configFile));
  }
  const started = relays[0]!;
  const ports = await Promise.race([Promise.all(relays.map((instance) => instance.port())), watch.stalled]);
  if (scrapeMs !== undefined) {
    const adminPort = (await Promise.race([started.waitForLog((line) => line.msg === 'admin listening', 'the admin listener'), watch.stalled])).port as number;
    scraper = scrapeEvery(`http://127.0.0.1:${adminPort}/metrics`, scrapeMs);
  }

  const traceFile = join(scratch, 'strace.txt');
  if (values.strace) tracer = await attachStrace(started.child.pid!, traceFile);
  const relaysCpuMs = (): number => relays.reduce((sum, instance) => sum + cpuMsOf(instance.child.pid!), 0);
  const relaysRss = (): number => relays.reduce((sum, instance) => sum + rssOf(instance.child.pid!), 0);
  const cpuBefore = relaysCpuMs();
  const startedAt = performance.now();
  rssTimer = setInterval(() => (peakRss = Math.max(peakRss, relaysRss())), 100);
  await Promise.race([Promise.all(Array.from({ length: clients }, (_, k) => client(ports[k % instances]!))), watch.stalled]);
  const acceptedAt = performance.now();
  await Promise.race([done, watch.stalled]);
  const finished = performance.now();
  const cpuMs = relaysCpuMs() - cpuBefore;
  const scrapes = scraper?.stop();
  peakRss = Math.max(peakRss, relaysRss());
  const syscalls = tracer ? await detachStrace(tracer, traceFile) : undefined;

  const latencies = [...arrived].map(([id, at]) => at - accepted.get(id)!).sort((a, b) => a - b);
  const percentile = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  console.log(
    JSON.stringify(
      {
        clients,
        messages: total,
        sizeKb,
        inboundTls,
        spool: cluster === undefined ? spoolDir : `postgres, ${instances} instance${instances === 1 ? '' : 's'}`,
        acceptedPerSecond: Math.round((total / (acceptedAt - startedAt)) * 1000),
        deliveredPerSecond: Math.round((total / (finished - startedAt)) * 1000),
        latencyMs: { p50: Math.round(percentile(50)), p99: Math.round(percentile(99)) },
        relayPeakRssMb: Math.round(peakRss / 1024),
        relayCpuMsPerMessage: Math.round((cpuMs / total) * 100) / 100,
        ...(syscalls === undefined ? {} : { syscallsPerMessage: perMessage(syscalls) }),
        ...(scrapes === undefined ? {} : { metricsScrapes: scrapes }),
      },
      null,
      2,
    ),
  );
  for (const instance of relays) {
    const code = await Promise.race([instance.stop(), watch.stalled]);
    if (code !== 0) throw new Error(`the relay exited ${code} on SIGTERM: ${instance.stderr()}`);
  }
} catch (err) {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  watch.stop();
  clearInterval(rssTimer);
  scraper?.stop();
  if (tracer && tracer.exitCode === null) tracer.kill('SIGKILL');
  // after a failure the relay may be stuck mid-delivery: it is not asked twice
  for (const instance of relays) if (instance.child.exitCode === null && instance.child.signalCode === null) await instance.kill9();
  await cluster?.stop();
  await new Promise<void>((resolveClose) => sink.close(() => resolveClose()));
  rmSync(scratch, { recursive: true, force: true });
  if (values.spool !== undefined) for (let k = 0; k < instances; k++) rmSync(instances === 1 ? spoolDir : `${spoolDir}-${k}`, { recursive: true, force: true });
}
// a client stuck in mid-send would keep the process alive after a failure
process.exit();

/** GETs `url` every `everyMs`, as a Prometheus scraping the relay would, until stopped; a failed scrape is counted, not fatal. */
function scrapeEvery(url: string, everyMs: number): { stop: () => { every: string; count: number; failed: number } } {
  let count = 0;
  let failed = 0;
  const timer = setInterval(() => {
    fetch(url)
      .then(async (response) => {
        await response.text();
        if (response.ok) count++;
        else failed++;
      })
      .catch(() => failed++);
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { every: `${everyMs / 1000}s`, count, failed };
    },
  };
}

/** Peak resident set size (VmHWM) of a process, in KiB. */
function rssOf(pid: number): number {
  try {
    return statusKib(pid, 'VmHWM');
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used so far, in ms: fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) is in parentheses and may hold spaces: count from after it
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** `strace -c -f -p PID`: counts the system calls of every thread of the relay until detachStrace. */
async function attachStrace(pid: number, file: string): Promise<ChildProcess> {
  const child = spawn('strace', ['-c', '-f', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // strace says so on stderr once it has attached to each thread
  await new Promise<void>((resolveAttach, reject) => {
    child.stderr!.on('data', () => {
      if (stderr.includes('attached')) resolveAttach();
    });
    child.once('exit', (code) => reject(new Error(`strace exited ${code}: ${stderr}`)));
    child.once('error', reject);
  });
  return child;
}

/** Detaches strace (SIGINT) and reads its summary: calls per system call, futex and epoll_wait (waiting, not work) left out. */
async function detachStrace(child: ChildProcess, file: string): Promise<Record<string, number>> {
  child.kill('SIGINT');
  await once(child, 'exit');
  const calls: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // % time, seconds, usecs/call, calls, [errors,] syscall
    const match = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (match && !['futex', 'epoll_wait', 'epoll_pwait', 'total'].includes(match[2]!)) calls[match[2]!] = Number(match[1]);
  }
  return calls;
}

/** System calls per message: all together, and each that comes to at least 0.1 per message, most frequent first. */
function perMessage(calls: Record<string, number>): Record<string, number> {
  const round = (n: number): number => Math.round((n / total) * 10) / 10;
  const frequent = Object.entries(calls)
    .filter(([, n]) => round(n) >= 0.1)
    .sort(([, a], [, b]) => b - a);
  return { all: round(Object.values(calls).reduce((sum, n) => sum + n, 0)), ...Object.fromEntries(frequent.map(([name, n]) => [name, round(n)])) };
}
