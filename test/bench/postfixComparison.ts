// The side-by-side comparison of issue 12: the same load through tlsrelay and through a
// private Postfix instance with its default settings — smtp-source → MTA → smtp-sink, both
// tools from the postfix package, so that neither side is measured with a load generator
// or a sink of its own. One run = a fresh MTA (new spool or queue, on the same disk for
// both), one smtp-sink, one smtp-source; timed from smtp-source's start to the last
// message counted at the sink (smtp-sink -M exits once it has taken that many: its exit
// is the proof that all arrived). Setup and teardown are outside the time.
// postfixBench.ts runs it in interleaved rounds and prints the figures.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../helpers/ports.js';
import { startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { PROJECT_ROOT, relayCommand } from '../helpers/relayProcess.js';

export type Target = 'tlsrelay' | 'postfix';

export interface Load {
  messages: number;
  /** Parallel SMTP sessions of smtp-source. */
  sessions: number;
  /** Payload bytes per message (smtp-source -l), headers not counted. */
  bytes: number;
  /** A new connection for each message (smtp-source without -d). */
  connectionPerMessage: boolean;
}

export interface RunOptions {
  /** The folder the MTA's spool or queue is made in: the disk whose fsyncs are measured. */
  spoolParent: string;
  /** Gives up when the run has not ended by then. */
  timeoutMs: number;
}

/** A run that ended: smtp-sink took every message (or the run fails). */
export interface RunResult {
  target: Target;
  /** From smtp-source's start to its last message taken by the MTA. */
  acceptedSeconds: number;
  /** From smtp-source's start to the last message counted at the sink. */
  deliveredSeconds: number;
  /** CPU time of the MTA's processes (the relay; Postfix's master and its children) during the run, per message. */
  cpuMsPerMessage: number;
}

/** smtp-sink as root must be told whom to become; Postfix's own user is there wherever smtp-sink is. */
const SINK_USER = 'postfix';
const PROBE_MS = 50;
/** What /proc/PID/stat counts CPU time in. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** Resolves once something listens on 127.0.0.1:port (a connection is made and closed). */
async function listening(port: number, child: ChildProcess, what: string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before it listened`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(PROBE_MS);
  }
}

/** Resolves when the tool exits with 0; rejects with its output otherwise. */
async function succeeds(child: ChildProcess, what: string): Promise<void> {
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  if (code !== 0) throw new Error(`${what} exited ${code ?? signal}: ${output.trim()}`);
}

/** utime + stime of a process, and of its children it has reaped, in ms; 0 once it is gone. */
function cpuMs(pid: number, withReaped: boolean): number {
  try {
    // the fields after the command name, which may itself hold spaces and parentheses
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + (withReaped ? Number(fields[13]) + Number(fields[14]) : 0);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** CPU of a process and of everything under it: live children's own, and what it reaped of the dead ones. */
function treeCpuMs(root: number): number {
  const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  const children = pids.filter((pid) => parentOf(pid) === root);
  return cpuMs(root, true) + children.reduce((sum, pid) => sum + cpuMs(pid, false), 0);
}

interface Mta {
  port: number;
  /** CPU of the MTA's processes so far, in ms. */
  cpu(): number;
  stop(): Promise<void>;
}

async function startTlsrelay(sinkPort: number, load: Load, spoolParent: string, scratch: string): Promise<Mta> {
  const port = await freePort();
  const spool = mkdtempSync(join(spoolParent, 'tlsrelay-bench-spool-'));
  const config = join(scratch, 'tlsrelay.yaml');
  writeFileSync(
    config,
    // smtp-source sends all its messages of a session over one connection (-d): up to all of them
    `server: { hostname: relay.bench.test }
listeners: [{ name: smtp, port: ${port}, tls: none }]
queue: { dir: ${JSON.stringify(spool)} }
smtp: { maxConnectionsPerIp: ${load.sessions + 10}, maxClients: ${load.sessions + 10}, maxMessagesPerConnection: ${load.messages} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sinkPort}"], tls: none }]
`,
  );
  const [command, ...args] = relayCommand(config);
  // the log goes to a file, as Postfix's goes to its maillog: nothing here reads it while it runs
  const log = openSync(join(scratch, 'tlsrelay.log'), 'w');
  const child = spawn(command!, args, { cwd: PROJECT_ROOT, stdio: ['ignore', log, log] });
  const exited = once(child, 'exit');
  await listening(port, child, `the relay (log: ${join(scratch, 'tlsrelay.log')})`);
  return {
    port,
    cpu: () => cpuMs(child.pid!, true),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(spool, { recursive: true, force: true });
    },
  };
}

async function startPostfixMta(sinkPort: number, spoolParent: string): Promise<Mta> {
  const postfix: PostfixInstance = await startPostfix({
    parentDir: spoolParent,
    main: () => ({
      relayhost: `[127.0.0.1]:${sinkPort}`,
      // the helper's quick retries are for tests; a benchmark runs Postfix's defaults
      queue_run_delay: '300s',
      minimal_backoff_time: '300s',
      maximal_backoff_time: '4000s',
    }),
  });
  return { port: postfix.port, cpu: () => treeCpuMs(postfix.masterPid), stop: () => postfix.stop() };
}

/** One run: a fresh MTA between a fresh smtp-sink and smtp-source; everything it started is stopped, whatever happens. */
export async function runOnce(target: Target, load: Load, options: RunOptions): Promise<RunResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'tlsrelay-postfix-bench-'));
  const sinkPort = await freePort();
  const children: ChildProcess[] = [];
  let mta: Mta | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const sink = spawn('smtp-sink', ['-u', SINK_USER, '-M', String(load.messages), `127.0.0.1:${sinkPort}`, '1024'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(sink);
    const allArrived = succeeds(sink, 'smtp-sink');
    allArrived.catch(() => undefined);
    await listening(sinkPort, sink, 'smtp-sink');
    mta = target === 'tlsrelay' ? await startTlsrelay(sinkPort, load, options.spoolParent, scratch) : await startPostfixMta(sinkPort, options.spoolParent);
    const cpuBefore = mta.cpu();

    const started = performance.now();
    const sourceArgs = ['-s', String(load.sessions), '-m', String(load.messages), '-l', String(load.bytes), ...(load.connectionPerMessage ? [] : ['-d']), '-f', 'bench@source.test', '-t', 'bench@sink.test', '-M', 'source.test', `127.0.0.1:${mta.port}`];
    const source = spawn('smtp-source', sourceArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(source);
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${target}: the run did not end within ${options.timeoutMs / 1000} s (smtp-source ${source.exitCode === null ? 'still sending' : 'done'})`)), options.timeoutMs);
    });
    const accepted = succeeds(source, 'smtp-source').then(() => performance.now());
    const delivered = allArrived.then(() => performance.now());
    const [acceptedAt, deliveredAt] = await Promise.race([Promise.all([accepted, delivered]), timedOut]);
    const cpu = mta.cpu() - cpuBefore;
    return {
      target,
      acceptedSeconds: (acceptedAt - started) / 1000,
      deliveredSeconds: (Math.max(deliveredAt, acceptedAt) - started) / 1000,
      cpuMsPerMessage: cpu / load.messages,
    };
  } finally {
    clearTimeout(timer);
    await mta?.stop();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
}
