// server.hostname left out: the relay takes the system's fully qualified name, found as
// `hostname -f` finds it, and says so in its banner; a system name without a domain is
// warned about by check-config and start. Each run has a host name and /etc/hosts of its
// own (privateSystem.ts), so the machine's own name decides nothing.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inPrivateSystem, type PrivateSystem } from '../helpers/privateSystem.js';
import { MAIN, runCommand, startRelayCommand } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';
import { needsTool } from '../helpers/tools.js';

const QUALIFIED: PrivateSystem = { hostname: 'relaybox', hosts: '127.0.0.1 localhost\n127.0.1.1 relaybox.example.test relaybox\n' };
const UNQUALIFIED: PrivateSystem = { hostname: 'relaybox', hosts: '127.0.0.1 localhost\n127.0.1.1 relaybox\n' };

function writeConfigWithoutHostname(dir: string): string {
  const file = join(dir, 'tlsrelay.yaml');
  writeFileSync(file, ['listeners: [{ name: plain, port: 0, tls: none }]', `queue: { dir: ${join(dir, 'spool')} }`, ''].join('\n'));
  return file;
}

let runs = 0;
function cliOn(dir: string, system: PrivateSystem, args: string[]) {
  return runCommand(inPrivateSystem(join(dir, `overlay-${++runs}`), system, [process.execPath, MAIN, ...args]), dir);
}

t.test('a system whose name resolves to a fully qualified one: that name, and no warning', needsTool('unshare', 'apt-get install util-linux'), async (t) => {
  const dir = t.testdir({});
  const file = writeConfigWithoutHostname(dir);
  t.strictSame(await cliOn(dir, QUALIFIED, ['check-config', '-c', file]), { code: 0, stdout: `${file}: configuration is valid\n`, stderr: '' });
  const shown = await cliOn(dir, QUALIFIED, ['config', 'show', '--json', '-c', file]);
  t.equal((JSON.parse(shown.stdout) as { server: { hostname: string } }).server.hostname, 'relaybox.example.test', 'config show: the name from /etc/hosts');

  const relay = startRelayCommand(inPrivateSystem(join(dir, 'overlay-start'), QUALIFIED, [process.execPath, MAIN, 'start', '-c', file]), dir);
  t.teardown(() => relay.stop());
  const listening = await relay.waitForLog((line) => line.msg === 'listening', 'the listener');
  await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start');
  const dialog = await openDialog(listening.port as number);
  t.match(dialog.greeting, /^220 relaybox\.example\.test /, 'the banner names it');
  t.match(await dialog.command('EHLO client.test'), /^250-relaybox\.example\.test/);
  dialog.close();
  t.strictSame(relay.logs.filter((line) => line.level === 40), [], 'start warns about nothing');
});

t.test('a system name without a domain: used, and check-config and start warn naming server.hostname', needsTool('unshare', 'apt-get install util-linux'), async (t) => {
  const dir = t.testdir({});
  const file = writeConfigWithoutHostname(dir);
  const warning = `${file}:1:1: warning: server.hostname: left out, and the system's name "relaybox" has no domain; many receivers refuse such a name in EHLO: set server.hostname to the relay's fully qualified name (e.g. relay.example.com)\n`;
  t.strictSame(await cliOn(dir, UNQUALIFIED, ['check-config', '-c', file]), { code: 0, stdout: `${file}: configuration is valid\n`, stderr: warning }, 'valid, with the warning');

  const relay = startRelayCommand(inPrivateSystem(join(dir, 'overlay-start'), UNQUALIFIED, [process.execPath, MAIN, 'start', '-c', file]), dir);
  t.teardown(() => relay.stop());
  const warned = await relay.waitForLog((line) => line.level === 40 && /server\.hostname/.test(String(line.msg)), 'the warning');
  t.match(warned, { where: `${file}:1:1`, msg: /^server\.hostname: left out, and the system's name "relaybox" has no domain/ });
  t.match(await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start'), { hostname: 'relaybox' }, 'and starts with the short name');
});
