// Which config file a command reads without -c: the pure lookup order, then the real
// commands, run from a folder without a config, with TLSRELAY_CONFIG, from a checkout and
// with /etc/tlsrelay/tlsrelay.yaml. Whatever the machine's /etc holds, the runs that
// depend on it get an /etc of their own (privateSystem.ts).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { locateConfig } from '../../src/cli/configLocation.js';
import { MAIN, runCli, runCommand, startRelayCommand } from '../helpers/relayProcess.js';
import { inPrivateSystem } from '../helpers/privateSystem.js';
import { needsTool } from '../helpers/tools.js';

const NONE_FOUND = 'tlsrelay: no config file: none given with -c FILE, TLSRELAY_CONFIG is not set, and neither ./config/tlsrelay.yaml nor /etc/tlsrelay/tlsrelay.yaml exists\n';
const SYSTEM_CONFIG = '/etc/tlsrelay/tlsrelay.yaml';

t.test('the lookup order: -c, TLSRELAY_CONFIG, ./config/tlsrelay.yaml when present, /etc/tlsrelay/tlsrelay.yaml', async (t) => {
  const present = (...files: string[]) => (file: string) => files.includes(file);
  const both = present('config/tlsrelay.yaml', SYSTEM_CONFIG);
  t.strictSame(locateConfig('my.yaml', 'env.yaml', both), { found: true, file: 'my.yaml' }, '-c first');
  t.strictSame(locateConfig(undefined, 'env.yaml', both), { found: true, file: 'env.yaml' }, 'then the variable');
  t.strictSame(locateConfig(undefined, undefined, both), { found: true, file: 'config/tlsrelay.yaml' }, 'then the checkout’s file');
  t.strictSame(locateConfig(undefined, '', both), { found: true, file: 'config/tlsrelay.yaml' }, 'an empty variable is unset');
  t.strictSame(locateConfig(undefined, undefined, present(SYSTEM_CONFIG)), { found: true, file: SYSTEM_CONFIG }, 'then the system’s');
  t.strictSame(locateConfig('missing.yaml', undefined, both), { found: true, file: 'missing.yaml' }, 'a file named by -c is taken even when missing');
  t.strictSame(locateConfig(undefined, 'missing.yaml', present()), { found: true, file: 'missing.yaml' }, 'so is one the variable names');
  t.strictSame(locateConfig(undefined, undefined, present()), { found: false, problem: NONE_FOUND.trimEnd() }, 'none: all four named');
});

/** A config that check-config accepts as it is, its spool in `dir`. */
function writeValidConfig(file: string, dir: string): string {
  writeFileSync(file, ['server: { hostname: relay.example.test }', 'listeners: [{ name: plain, port: 0, tls: none }]', `queue: { dir: ${join(dir, 'spool')} }`, ''].join('\n'));
  return file;
}

/** This environment without TLSRELAY_CONFIG (whatever the test runner has), plus `extra`. */
function envWith(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { TLSRELAY_CONFIG: _unset, ...rest } = process.env;
  return { ...rest, ...extra };
}

let overlays = 0;
/** A tlsrelay command in `cwd`, without TLSRELAY_CONFIG, with an /etc of its own holding `systemConfig` or no /etc/tlsrelay. */
function cliWithEtc(root: string, cwd: string, systemConfig: string | undefined, args: string[]) {
  return runCommand(inPrivateSystem(join(root, `overlay-${++overlays}`), { systemConfig }, [process.execPath, MAIN, ...args]), cwd, '', envWith());
}

t.test('from a folder without a config, and none in /etc: exit 2 naming all four places', needsTool('unshare', 'apt-get install util-linux'), async (t) => {
  const root = t.testdir({ elsewhere: {} });
  const elsewhere = join(root, 'elsewhere');
  for (const args of [['start'], ['check-config'], ['config', 'show'], ['queue', 'list'], ['policy', 'explain', 'a.test'], ['report', 'tls']]) {
    t.strictSame(await cliWithEtc(root, elsewhere, undefined, args), { code: 2, stdout: '', stderr: NONE_FOUND }, args.join(' '));
  }
  const schema = await cliWithEtc(root, elsewhere, undefined, ['config', 'schema']);
  t.match(schema, { code: 0, stderr: '', stdout: /^\{/ }, 'config schema reads no config');
});

t.test('TLSRELAY_CONFIG: read by every command that reads the config, from any folder; -c wins over it', async (t) => {
  const dir = t.testdir({ elsewhere: {}, config: {} });
  const fromEnv = writeValidConfig(join(dir, 'env.yaml'), dir);
  const fromOption = writeValidConfig(join(dir, 'option.yaml'), join(dir, 'other'));
  writeValidConfig(join(dir, 'config', 'tlsrelay.yaml'), join(dir, 'checkout'));
  const env = envWith({ TLSRELAY_CONFIG: fromEnv });
  const elsewhere = join(dir, 'elsewhere');

  t.strictSame(await runCli(['check-config'], elsewhere, '', env), { code: 0, stdout: `${fromEnv}: configuration is valid\n`, stderr: '' });
  t.strictSame(await runCli(['check-config'], dir, '', env), { code: 0, stdout: `${fromEnv}: configuration is valid\n`, stderr: '' }, 'over ./config/tlsrelay.yaml');
  t.strictSame(await runCli(['check-config', '-c', fromOption], elsewhere, '', env), { code: 0, stdout: `${fromOption}: configuration is valid\n`, stderr: '' }, '-c over the variable');

  const shown = await runCli(['config', 'show', '--json'], elsewhere, '', env);
  t.equal((JSON.parse(shown.stdout) as { queue: { dir: string } }).queue.dir, join(dir, 'spool'), 'config show reads it');
  const listed = await runCli(['queue', 'list', '--json'], elsewhere, '', env);
  t.strictSame({ ...listed, stdout: JSON.parse(listed.stdout) as unknown }, { code: 0, stdout: { messages: [] }, stderr: '' }, 'queue list reads it');
  t.match(await runCli(['policy', 'explain', 'a.test'], elsewhere, '', env), { code: 0, stdout: /^outbound mail for a\.test/ }, 'policy explain reads it');
  t.match(await runCli(['report', 'tls', '--json'], elsewhere, '', env), { code: 0, stderr: '' }, 'report tls reads it');

  const relay = startRelayCommand([process.execPath, MAIN, 'start'], elsewhere, { env });
  t.teardown(() => relay.stop());
  t.match(await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start'), { config: fromEnv, spool: join(dir, 'spool') }, 'start reads it');

  const missing = join(dir, 'missing.yaml');
  const run = await runCli(['check-config'], dir, '', envWith({ TLSRELAY_CONFIG: missing }));
  t.equal(run.code, 2, 'a variable naming a missing file is an error');
  t.match(run.stderr, `${missing}:1:1: cannot read config file`, 'at that file, not ./config/tlsrelay.yaml instead');
});

t.test('./config/tlsrelay.yaml in the current folder first, then /etc/tlsrelay/tlsrelay.yaml', needsTool('unshare', 'apt-get install util-linux'), async (t) => {
  const root = t.testdir({ checkout: { config: {} }, elsewhere: {} });
  const checkout = join(root, 'checkout');
  const elsewhere = join(root, 'elsewhere');
  writeValidConfig(join(checkout, 'config', 'tlsrelay.yaml'), checkout);
  const system = writeValidConfig(join(root, 'system.yaml'), join(root, 'system'));
  const valid = (file: string) => ({ code: 0, stdout: `${file}: configuration is valid\n`, stderr: '' });
  t.strictSame(await cliWithEtc(root, checkout, undefined, ['check-config']), valid('config/tlsrelay.yaml'), 'the checkout’s file');
  t.strictSame(await cliWithEtc(root, checkout, system, ['check-config']), valid('config/tlsrelay.yaml'), 'before the system’s');
  t.strictSame(await cliWithEtc(root, elsewhere, system, ['check-config']), valid(SYSTEM_CONFIG), 'the system’s from anywhere else');

  const relay = startRelayCommand(inPrivateSystem(join(root, 'overlay-start'), { systemConfig: system }, [process.execPath, MAIN, 'start']), elsewhere, { env: envWith() });
  t.teardown(() => relay.stop());
  t.match(await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start'), { config: SYSTEM_CONFIG, spool: join(root, 'system', 'spool') }, 'start reads it too');
});
