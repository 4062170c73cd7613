// /readyz of the real relay when its spool cannot take a write: a tiny tmpfs over the
// spool in a private mount namespace (root ignores permissions, so a full disk is the
// honest fault), filled and emptied again by the shell that runs the relay there.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminRequest } from '../helpers/adminHttp.js';
import { relayCommand, startRelayCommand, writeConfig } from '../helpers/relayProcess.js';
import { until } from '../helpers/until.js';

const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

t.test('/readyz: 503 with the reason while the spool is full, 200 again once there is room', { skip: canMount ? false : 'needs root and unshare -m to mount a small tmpfs' }, async (t) => {
  const dir = t.testdir();
  const spool = join(dir, 'spool');
  mkdirSync(spool);
  const config = writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool }
admin: { port: 0 }
`,
  );
  const step = (name: string): string => join(dir, name);
  // each step waits for the test's file, and gives up when the relay is gone
  const waitFor = (name: string): string => `until [ -e ${quote(step(name))} ]; do kill -0 $relay 2>/dev/null || exit 1; sleep 0.1; done`;
  const script = [
    `mount -t tmpfs -o size=2m tmpfs ${quote(spool)} || exit 97`,
    `${relayCommand(config).map(quote).join(' ')} & relay=$!`,
    `trap 'kill -TERM $relay' TERM`,
    waitFor('fill'),
    `head -c 4m /dev/zero > ${quote(join(spool, 'filler'))} 2>/dev/null`,
    `touch ${quote(step('filled'))}`,
    waitFor('free'),
    `rm ${quote(join(spool, 'filler'))}`,
    `touch ${quote(step('freed'))}`,
    // the first wait ends with the trapped signal, the second with the relay's exit
    'wait $relay; wait $relay',
  ].join('\n');
  const relay = startRelayCommand(['unshare', '-m', 'sh', '-c', script]);
  t.teardown(() => relay.stop());
  const admin = (await relay.waitForLog((line) => line.msg === 'admin listening', 'the admin listener')).port as number;

  t.equal((await adminRequest(admin, '/readyz')).status, 200, 'ready with room in the spool');
  writeFileSync(step('fill'), '');
  await until(() => existsSync(step('filled')));
  const full = await adminRequest(admin, '/readyz');
  t.strictSame({ status: full.status, body: full.body }, { status: 503, body: 'not ready: spool not writable: ENOSPC\n' }, 'the reason in the body');
  t.equal((await adminRequest(admin, '/healthz')).status, 200, 'the process serves all the same');
  writeFileSync(step('free'), '');
  await until(() => existsSync(step('freed')));
  t.equal((await adminRequest(admin, '/readyz')).status, 200, 'ready again');
  t.equal(await relay.stop(), 0);
});
