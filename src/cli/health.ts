import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { ListenerConfig } from '../config/types.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';

// `tlsrelay health`: the container's HEALTHCHECK (and a supervisor's probe). It asks the
// relay what a client would: the first listener's greeting, then QUIT.

/** Longer than a loaded relay takes to greet; short enough that a hung one counts as down. */
const PROBE_TIMEOUT_MS = 10_000;

export const EXIT_UNHEALTHY = 1;

/** Where to knock: a listener on every address is asked on loopback, of its own family. */
export function probeAddress(listener: Pick<ListenerConfig, 'address'>): string {
  if (listener.address === '0.0.0.0') return '127.0.0.1';
  if (listener.address === '::') return '::1';
  return listener.address;
}

/** A healthy relay's first reply is 220 (a busy or closing one says 421, a refusing one 554). */
export function greetingIsHealthy(greeting: string): boolean {
  return /^220[ -]/.test(greeting);
}

/** The greeting's complete reply (its last line `NNN text`), or the reason there is none. */
function readGreeting(listener: ListenerConfig, host: string): Promise<{ ok: true; greeting: string } | { ok: false; problem: string }> {
  return new Promise((resolve) => {
    // implicit TLS: the handshake comes first. Not verified — the question is whether the
    // relay answers, and a self-signed development certificate must not fail it.
    const socket: Socket = listener.tls === 'implicit' ? connectTls({ host, port: listener.port, rejectUnauthorized: false }) : connectTcp({ host, port: listener.port });
    let received = '';
    const finish = (result: { ok: true; greeting: string } | { ok: false; problem: string }) => {
      socket.removeAllListeners('data');
      if (result.ok) socket.end('QUIT\r\n');
      else socket.destroy();
      resolve(result);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => finish({ ok: false, problem: `no greeting within ${PROBE_TIMEOUT_MS / 1000}s` }));
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, problem: err.code ?? err.message }));
    socket.on('close', () => finish({ ok: false, problem: 'closed before greeting' }));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const lines = received.split('\r\n');
      // complete lines only; `220-` continues the reply, anything else ends it
      const last = lines.slice(0, -1).findIndex((line) => !/^\d{3}-/.test(line));
      if (last !== -1) finish({ ok: true, greeting: lines.slice(0, last + 1).join(' | ') });
    });
  });
}

/** Exit 0 and one line on stdout when the first listener greets with 220; else 1 and one line on stderr. */
export async function healthCommand(configOption: string | undefined, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  const loaded = await loadConfigOrReport(configOption, stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const listener = loaded.config.listeners[0]!;
  if (listener.port === 0) {
    stderr.write(`tlsrelay health: listener "${listener.name}" has port 0: the system picks its port at start, so there is none to ask\n`);
    return EXIT_INVALID_CONFIG;
  }
  const host = probeAddress(listener);
  const where = `listener "${listener.name}" on ${host.includes(':') ? `[${host}]` : host}:${listener.port}`;
  const answer = await readGreeting(listener, host);
  if (!answer.ok) {
    stderr.write(`tlsrelay health: unhealthy: ${where}: ${answer.problem}\n`);
    return EXIT_UNHEALTHY;
  }
  if (!greetingIsHealthy(answer.greeting)) {
    stderr.write(`tlsrelay health: unhealthy: ${where} greets: ${answer.greeting}\n`);
    return EXIT_UNHEALTHY;
  }
  stdout.write(`tlsrelay health: ok: ${where} greets: ${answer.greeting}\n`);
  return 0;
}
