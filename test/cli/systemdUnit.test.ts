// contrib/tlsrelay.service: systemd accepts it without a warning (systemd-analyze verify),
// its sandbox rates as hardened (systemd-analyze security), and what it says about the
// relay agrees with the relay — the drain fits in the stop timeout, the exit codes that
// a restart cannot cure are not restarted, the reload is the relay's SIGHUP.
// Not run under a real systemd here: these machines do not boot with it.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_USAGE } from '../../src/cli/args.js';
import { EXIT_INVALID_CONFIG } from '../../src/cli/loadConfigFile.js';
import { parseDuration } from '../../src/config/duration.js';
import { SHUTDOWN_GRACE_MS } from '../../src/inbound/shutdownGrace.js';
import { MAIN, PROJECT_ROOT } from '../helpers/relayProcess.js';
import { needsTool, runTool } from '../helpers/tools.js';

const UNIT = readFileSync(join(PROJECT_ROOT, 'contrib', 'tlsrelay.service'), 'utf8');

/** The [Service] section's settings, each with every value it is given (in order). */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const line of unit.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const setting = /^(\w+)=(.*)$/.exec(line);
    if (section === 'Service' && setting) settings.set(setting[1]!, [...(settings.get(setting[1]!) ?? []), setting[2]!]);
  }
  return settings;
}

t.test('what the unit says about the relay agrees with the relay', async (t) => {
  const service = serviceSettings(UNIT);
  t.strictSame(service.get('ExecStart'), ['tlsrelay start -c /etc/tlsrelay/tlsrelay.yaml'], 'the installed command, on the config in ConfigurationDirectory');
  t.strictSame(service.get('ConfigurationDirectory'), ['tlsrelay']);
  t.strictSame(service.get('ExecReload'), ['/bin/kill -HUP $MAINPID'], 'reload = the relay’s SIGHUP');
  t.strictSame(service.get('KillSignal'), ['SIGTERM'], 'stop = the relay’s graceful SIGTERM');
  const timeout = parseDuration(service.get('TimeoutStopSec')?.[0] ?? '');
  t.ok(timeout !== undefined && timeout > SHUTDOWN_GRACE_MS, `TimeoutStopSec (${timeout} ms) leaves the ${SHUTDOWN_GRACE_MS} ms drain room before SIGKILL`);
  const noRestart = (service.get('RestartPreventExitStatus')?.[0] ?? '').split(' ').map(Number);
  t.ok(noRestart.includes(EXIT_INVALID_CONFIG) && noRestart.includes(EXIT_USAGE), 'an invalid config and a wrong command line are not restarted in a loop');
  t.strictSame(service.get('User'), ['tlsrelay']);
  t.strictSame(service.get('AmbientCapabilities'), ['CAP_NET_BIND_SERVICE'], 'port 25 without root');
  t.strictSame(service.get('CapabilityBoundingSet'), ['CAP_NET_BIND_SERVICE'], 'and nothing more');
  t.strictSame(service.get('ReadWritePaths'), ['/var/spool/tlsrelay'], 'the only place it writes: the spool');
  t.match(service.get('ExecStartPre')?.[0], /^\+\/usr\/bin\/install -d -o tlsrelay -g tlsrelay -m 0750 \/var\/spool\/tlsrelay$/, 'which is made before the start');
});

t.test('systemd-analyze verify accepts the unit without a warning', needsTool('systemd-analyze', 'apt-get install systemd'), async (t) => {
  // verify insists that the command exists: here it is this checkout's, not an installed one
  const dir = t.testdir();
  const file = join(dir, 'tlsrelay.service');
  writeFileSync(file, UNIT.replace(/^ExecStart=tlsrelay /m, `ExecStart=${MAIN} `));
  t.strictSame(await runTool('systemd-analyze', ['verify', file]), { code: 0, output: '' });

  const security = await runTool('systemd-analyze', ['security', '--offline=true', file]);
  t.equal(security.code, 0, 'systemd-analyze security runs on the file alone (--offline)');
  t.match(security.output, /Overall exposure level for tlsrelay\.service: \d+\.\d+ (SAFE|OK)/, 'hardened: systemd rates the exposure OK or better');
});
