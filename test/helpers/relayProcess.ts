// The real relay as a child process (`node dist/main.js`), with its JSON log lines captured.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
export const MAIN = join(PROJECT_ROOT, 'dist', 'main.js');

export type LogLine = Record<string, unknown> & { msg?: string };

export interface RelayProcess {
  child: ChildProcess;
  logs: LogLine[];
  stderr: () => string;
  /** Resolves with the first log line (already seen or yet to come) the predicate accepts. */
  waitForLog(predicate: (line: LogLine) => boolean, what?: string): Promise<LogLine>;
  /** Like waitForLog, but only lines logged after the call count (e.g. the next attempt of a message). */
  waitForNextLog(predicate: (line: LogLine) => boolean, what?: string): Promise<LogLine>;
  /** Port of the named listener, from its "listening" log line. */
  port(listener?: string): Promise<number>;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to clean up. */
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

/** Runs a tlsrelay CLI command to completion; `input` is its stdin (empty by default), `env` its environment (this one's by default). */
export function runCli(args: string[], cwd = PROJECT_ROOT, input = '', env = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNodeScript(MAIN, args, cwd, input, env);
}

/** Runs a JavaScript file with this Node to completion, its stdout and stderr apart. */
export function runNodeScript(script: string, args: string[], cwd: string, input = '', env = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCommand([process.execPath, script, ...args], cwd, input, env);
}

/** Runs a command line to completion (e.g. the relay wrapped in `unshare -m`), its stdout and stderr apart. */
export async function runCommand([command, ...args]: string[], cwd: string, input = '', env = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command!, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': on a loaded machine a child can exit before its last output is read
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/**
 * `tlsrelay queue retry ID` against a running relay, repeated while the relay still holds
 * the message: right after an attempt is logged it is still recording it, and a retry then
 * only answers "being delivered right now" — the schedule recorded next would win.
 */
export async function retryNow(configFile: string, id: string): Promise<void> {
  for (;;) {
    const { code, stdout, stderr } = await runCli(['queue', 'retry', id, '-c', configFile]);
    if (code === 0 && stdout === `${id} will be attempted now\n`) return;
    if (code !== 0 || stdout !== `${id} is being delivered right now\n`) throw new Error(`queue retry ${id}: exit ${code}, ${stdout}${stderr}`);
  }
}

/** Writes `yaml` to DIR/tlsrelay.yaml and starts the relay on it. */
export function writeConfig(dir: string, yaml: string): string {
  const file = join(dir, 'tlsrelay.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** The command line that starts the relay on a config file. */
export function relayCommand(configFile: string): string[] {
  return [process.execPath, MAIN, 'start', '-c', configFile];
}

export function startRelay(configFile: string, cwd = PROJECT_ROOT): RelayProcess {
  return startRelayCommand(relayCommand(configFile), cwd);
}

/**
 * Starts the relay with a command line of the caller's (e.g. wrapped in `unshare -m`, or
 * `npm start`). `detached`: in a process group of its own, which a test can signal as a
 * terminal's Ctrl-C does, and clean up whole. `env`: its environment (this one's by default).
 */
export function startRelayCommand([command, ...args]: string[], cwd = PROJECT_ROOT, { detached = false, env = process.env } = {}): RelayProcess {
  const child = spawn(command!, process.env.RELAY_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.RELAY_PROF, ...args] : args, { cwd, detached, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters: Array<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': the lines the relay wrote last (its batch, written on the way out)
  // have been read once its stdout is closed, not yet when the process is gone
  const exited = once(child, 'close').then(([code]) => code as number | null);

  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text, unparsed: true };
    }
    logs.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, what = 'a log line'): Promise<LogLine> => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolvePromise, reject) => {
      waiters.push({ predicate, resolve: resolvePromise });
      void exited.then((code) => reject(new Error(`relay exited (code ${code}, signal ${child.signalCode}) before ${what}; stderr: ${stderr}`)));
    });
  };

  return {
    child,
    logs,
    stderr: () => stderr,
    waitForLog,
    waitForNextLog(predicate, what) {
      const before = logs.length;
      return waitForLog((line) => logs.indexOf(line) >= before && predicate(line), what);
    },
    exited,
    async port(listener = 'smtp') {
      const line = await waitForLog((l) => l.msg === 'listening' && l.listener === listener, `listener ${listener}`);
      return line.port as number;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
