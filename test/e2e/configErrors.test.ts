import t from 'tap';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { runCli, writeConfig, PROJECT_ROOT } from '../helpers/relayProcess.js';

t.test('check-config accepts the embedded default and every example', async (t) => {
  for (const file of ['config/tlsrelay.yaml', 'config/examples/exchange-smarthost.yaml', 'config/examples/partner-forced-tls.yaml']) {
    const result = await runCli(['check-config', '-c', join(PROJECT_ROOT, file)]);
    t.equal(result.code, 0, `${file} is valid: ${result.stderr}`);
    t.match(result.stdout, /configuration is valid/);
  }
});

t.test('a bad config names file:line:col for every problem and exits 2, for check-config and start alike', async (t) => {
  const dir = t.testdir();
  const port = await freePort();
  const file = writeConfig(
    dir,
    [
      'listeners:',
      `  - { name: smtp, port: ${port}, tls: none }`,
      'queue:',
      '  retry: [1m, soon]',
      'outbound:',
      '  - name: partner',
      '    domains: [fabrikam.test]',
      '    tls: mandatory',
      'inbound:',
      '  - name: office',
      '    match: { ips: [10.0.0.0/33] }',
      'colour: blue',
      '',
    ].join('\n'),
  );
  for (const command of ['check-config', 'start']) {
    const result = await runCli([command, '-c', file]);
    t.equal(result.code, 2, `${command} exits 2`);
    const lines = result.stderr.trim().split('\n');
    t.match(lines, [/:4:\d+: .*soon/, /:8:10: .*mandatory/, /:11:\d+: .*10\.0\.0\.0\/33/, /:12:1: .*colour/], `${command} reports each problem in order`);
    for (const line of lines) t.ok(line.startsWith(`${file}:`), `"${line}" starts with the file name`);
    t.equal(result.stdout, '', `${command} printed no log line: it never started`);
  }
  // nothing listened: the port is still free to bind
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

t.test('a missing certificate file is a config error unless generateIfMissing', async (t) => {
  const dir = t.testdir();
  const file = writeConfig(dir, 'tls:\n  cert: nothere.crt\n  key: nothere.key\n');
  const result = await runCli(['check-config', '-c', file]);
  t.equal(result.code, 2);
  t.match(result.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:9: .*nothere\\.crt`));
});

t.test('a warning is printed by check-config at its place, and the config is still valid', async (t) => {
  const dir = t.testdir();
  // server.hostname set: a system name without a domain would be a warning of its own
  const file = writeConfig(dir, 'server: { hostname: relay.example.test }\nlisteners: [{ name: a, port: 2525, tls: none }]\nqueue: { dir: spool }\noutbound:\n  - { name: d, domains: [d.test], tls: dane }\n');
  const result = await runCli(['check-config', '-c', file]);
  t.equal(result.code, 0);
  t.equal(result.stderr.split('\n')[0], `${file}:5:40: warning: outbound[0].tls: dane without dns.dnssec: true acts as opportunistic (plus MTA-STS): no TLSA record counts as secure; set dns.dnssec: true with a validating resolver in dns.servers`);
  t.match(result.stdout, /configuration is valid/);
});

t.test('a YAML syntax error has its position too', async (t) => {
  const dir = t.testdir();
  const file = writeConfig(dir, 'server:\n  hostname: [unclosed\n');
  const result = await runCli(['check-config', '-c', file]);
  t.equal(result.code, 2);
  t.match(result.stderr, /tlsrelay\.yaml:\d+:\d+: /);
});

t.test('an unreadable config file is reported, exit 2', async (t) => {
  const result = await runCli(['check-config', '-c', '/nonexistent/tlsrelay.yaml']);
  t.equal(result.code, 2);
  t.match(result.stderr, /^\/nonexistent\/tlsrelay\.yaml:1:1: cannot read config file/);
});

t.test('a port already taken: one plain line on stderr and exit 1, whatever listener bound before it', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const takenPort = (taken.address() as { port: number }).port;
  const firstPort = await freePort();
  const dir = t.testdir();
  const file = writeConfig(
    dir,
    `listeners:
  - { name: first, port: ${firstPort}, tls: none }
  - { name: busy, port: ${takenPort}, tls: none }
queue: { dir: spool }
`,
  );
  const result = await runCli(['start', '-c', file]);
  t.equal(result.code, 1, 'the relay does not run without its listeners');
  t.equal(result.stderr, `tlsrelay: listener "busy" cannot listen on 127.0.0.1:${takenPort}: listen EADDRINUSE: address already in use 127.0.0.1:${takenPort}\n`, 'said once, without a stack trace');
  const logged = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string });
  t.match(logged.at(-1), { level: 60, msg: 'cannot start the listeners' });
  t.notOk(logged.some((line) => line.msg === 'inbound connection error'), 'the failed bind is not logged as a connection error');
});
