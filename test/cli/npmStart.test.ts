// `npm start` as a supervisor runs it (pm2, supervisord): a signal to the npm process alone,
// or to its whole process group as a terminal's Ctrl-C and pm2's tree kill send it, stops
// the relay gracefully — 421 to idle sessions, the session in DATA gets its 250, exit 0 —
// and leaves no relay behind holding the port. stdout carries the relay's JSON log only.
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { freePort } from '../helpers/ports.js';
import { PROJECT_ROOT, startRelayCommand, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { idleAndSendingSessions } from '../helpers/shutdownSessions.js';

/** Relays from 127.0.0.1 to partner.test at a next hop that is down: nothing leaves during the test. */
const relayConfig = async (dir: string): Promise<string> =>
  writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${await freePort()}"], tls: none }]
`,
  );

/** Whether any process of the group (npm, a shell, the relay) is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `npm start -- -c FILE` in the checkout, in a process group of its own that teardown kills whole. */
function npmStart(t: Test, configFile: string): RelayProcess {
  const relay = startRelayCommand(['npm', 'start', '--', '-c', configFile], PROJECT_ROOT, { detached: true });
  t.teardown(() => {
    if (groupAlive(relay.child.pid!)) process.kill(-relay.child.pid!, 'SIGKILL');
  });
  return relay;
}

/** Resolves with how a connection to the port ends: 'connected', or the error's code. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const cases = [
  { signal: 'SIGTERM', to: 'npm' },
  { signal: 'SIGINT', to: 'npm' },
  // npm gets it and passes it on, and the relay gets it itself: two signals, one drain
  { signal: 'SIGINT', to: 'the process group' },
] as const;

for (const { signal, to } of cases) {
  t.test(`${signal} to ${to}: the relay drains, exits, and frees its port`, async (t) => {
    const relay = npmStart(t, await relayConfig(t.testdir()));
    const port = await relay.port();
    const { idle, sending } = await idleAndSendingSessions(port, 'user@partner.test');

    const npm = relay.child.pid!;
    process.kill(to === 'npm' ? npm : -npm, signal);
    // fails at once if npm exits without the relay having taken the signal
    await relay.waitForLog((line) => line.msg === 'shutting down', 'the drain');
    t.match(await idle.reply(), /^421 4\.3\.2 Service shutting down/, 'the idle session is told at once');
    await sending.write('second half\r\n.\r\n');
    t.match(await sending.reply(), /^250 2\.0\.0 Ok: queued as/, 'the session in DATA finishes with 250');
    idle.close();
    sending.close();

    t.equal(await relay.exited, 0, 'npm exits 0, as the relay did');
    t.match(relay.logs.find((line) => line.msg === 'shutting down'), { signal }, `the relay's log names ${signal}`);
    t.ok(relay.logs.some((line) => line.msg === 'tlsrelay stopped'), 'the relay logged its stop');
    t.notOk(groupAlive(npm), 'no process of npm start is left');
    t.equal(await connectOutcome(port), 'ECONNREFUSED', 'nothing listens on the port any more');
    t.strictSame(
      relay.logs.filter((line) => line.unparsed),
      [],
      'every stdout line is one of the relay’s JSON log lines (no "> tlsrelay@… start" banner)',
    );
    // pretest built dist/ just now, so there was nothing to build and nothing to say
    t.equal(relay.stderr(), '', 'nothing on stderr');
  });
}
