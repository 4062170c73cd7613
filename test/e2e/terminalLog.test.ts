// On a terminal the relay logs pretty lines by itself: run under a real pseudo-terminal
// (util-linux's `script`), on a config whose listener cannot bind, so the relay logs and
// exits at once — its last line, written right before process.exit, must be there.
import t from 'tap';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { relayCommand, writeConfig } from '../helpers/relayProcess.js';
import { needsTool, runTool } from '../helpers/tools.js';

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

t.test('stdout a terminal: pretty and coloured unless log.format says json or NO_COLOR is set', needsTool('script', 'apt-get install bsdutils'), async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const { port } = taken.address() as AddressInfo;
  const onTerminal = async (log: string, env: NodeJS.ProcessEnv = {}) => {
    const dir = t.testdir();
    const config = writeConfig(dir, `listeners: [{ name: smtp, port: ${port}, tls: none }]\nqueue: { dir: spool }\n${log}`);
    const { NO_COLOR: _, FORCE_COLOR: __, ...inherited } = process.env;
    // -e: script exits with the relay's code; the relay's stdout and stderr are the terminal
    return runTool('script', ['-qefc', relayCommand(config).map(quote).join(' '), '/dev/null'], { env: { ...inherited, ...env } });
  };
  const fatal = (output: string) => output.split('\r\n').find((line) => line.includes('cannot start the listeners'));

  const pretty = await onTerminal('');
  t.equal(pretty.code, 1, 'the listener cannot bind: exit 1');
  t.match(
    fatal(pretty.output),
    /^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] \u001b\[41mFATAL\u001b\[49m: \u001b\[36mcannot start the listeners\u001b\[39m \u001b\[90m\{"err":"listener \\"smtp\\" cannot listen on 127\.0\.0\.1:\d+: listen EADDRINUSE: .*\}\u001b\[39m$/,
    'log.format left out: one pretty, coloured line',
  );
  t.notMatch(pretty.output, /\{"level":/, 'no JSON line');

  const plain = await onTerminal('', { NO_COLOR: '1' });
  t.match(fatal(plain.output), /^\[[^\]]+\] FATAL: cannot start the listeners \{"err":/, 'NO_COLOR: pretty without colours');

  const json = await onTerminal('log: { format: json }\n');
  t.match(JSON.parse(fatal(json.output) ?? 'null'), { level: 60, msg: 'cannot start the listeners', time: /Z$/ }, 'log.format: json keeps JSON on a terminal');
});
