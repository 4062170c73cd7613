// Listeners that cannot both bind are refused by check-config and start alike, before
// anything listens; the OS is asked first whether the pair really collides, so the
// test proves the config check says what a start would meet. Pairs that can both bind
// start and listen.
import t from 'tap';
import { createServer, type Server } from 'node:net';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';

function bind(address: string, port: number): Promise<{ server: Server } | { error: string }> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve({ error: String(err.code) }));
    server.listen(port, address, () => resolve({ server }));
  });
}

/** Binds both as the relay would, one after the other on one port; what the second gets. */
async function osSays(first: string, second: string, port: number): Promise<string> {
  const a = await bind(first, port);
  if ('error' in a) throw new Error(`cannot bind ${first}:${port}: ${a.error}`);
  const b = await bind(second, port);
  await new Promise((resolve) => a.server.close(resolve));
  if ('server' in b) await new Promise((resolve) => b.server.close(resolve));
  return 'error' in b ? b.error : 'ok';
}

const listenersYaml = (first: string, second: string, port: number): string =>
  `listeners:
  - { name: first, address: "${first}", port: ${port}, tls: none }
  - { name: second, address: "${second}", port: ${port}, tls: none }
queue: { dir: spool }
`;

const REFUSED: Array<[string, string]> = [
  ['0.0.0.0', '127.0.0.1'],
  ['127.0.0.1', '0.0.0.0'],
  ['::', '0.0.0.0'],
  ['::', '127.0.0.1'],
  ['::1', '::'],
  ['127.0.0.1', '::ffff:127.0.0.1'],
];

const ALLOWED: Array<[string, string]> = [
  ['127.0.0.1', '127.0.0.2'],
  ['127.0.0.1', '::1'],
  ['0.0.0.0', '::1'],
];

for (const [first, second] of REFUSED) {
  t.test(`${first} and ${second} on one port: refused before anything listens`, async (t) => {
    const port = await freePort();
    t.equal(await osSays(first, second, port), 'EADDRINUSE', 'the OS does not let both bind');
    const file = writeConfig(t.testdir(), listenersYaml(first, second, port));
    for (const command of ['check-config', 'start']) {
      const result = await runCli([command, '-c', file]);
      t.equal(result.code, 2, `${command} exits 2`);
      t.match(result.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:\\d+: listeners\\[1\\]\\.port: .*(overlaps|is already used at line 2)`), `${command} names the second listener's FILE:LINE:COL`);
      t.equal(result.stdout, '', `${command} logged nothing: nothing started`);
    }
  });
}

for (const [first, second] of ALLOWED) {
  t.test(`${first} and ${second} on one port: both listen`, async (t) => {
    const port = await freePort();
    t.equal(await osSays(first, second, port), 'ok', 'the OS lets both bind');
    const file = writeConfig(t.testdir(), listenersYaml(first, second, port));
    const checked = await runCli(['check-config', '-c', file]);
    t.equal(checked.code, 0, `check-config accepts it: ${checked.stderr}`);
    const relay = startRelay(file);
    t.teardown(() => relay.stop());
    t.equal(await relay.port('first'), port);
    t.equal(await relay.port('second'), port);
  });
}
