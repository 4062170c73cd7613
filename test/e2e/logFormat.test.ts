// log.format and log.level of the running relay: pretty lines from `log.format: pretty`
// (stdout is a pipe here, so no colours), and both keys switched by SIGHUP from the next
// line on. (Pretty by default on a terminal is test/log.test.ts's: a test has no terminal.)
import t from 'tap';
import { startRelay, writeConfig, type LogLine } from '../helpers/relayProcess.js';
import { freePort } from '../helpers/ports.js';
import { openDialog } from '../helpers/smtpDialog.js';

const PRETTY = /^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] (INFO|WARN|ERROR): /;

t.test('log.format and log.level follow SIGHUP', async (t) => {
  const dir = t.testdir();
  const port = await freePort();
  // a hostname of its own: a system name without a domain would add a warning of its own
  const configText = (log: string, listenerPort = port) => `server: { hostname: relay.example.test }
listeners: [{ name: smtp, port: ${listenerPort}, tls: none }]
queue: { dir: spool }
log: ${log}
`;
  const config = writeConfig(dir, configText('{ format: pretty }'));
  const relay = startRelay(config);
  t.teardown(() => relay.stop());
  const text = (line: LogLine) => (line.unparsed ? String(line.msg) : '');
  const prettyLine = (pattern: RegExp, what: string) => relay.waitForNextLog((line) => pattern.test(text(line)), what);
  const hangUp = async (log: string, listenerPort?: number) => {
    writeConfig(dir, configText(log, listenerPort));
    relay.child.kill('SIGHUP');
  };

  const listening = await relay.waitForLog((line) => /INFO: listening /.test(text(line)), 'the pretty listening line');
  t.match(text(listening), PRETTY);
  t.match(text(listening), / INFO: listening \{"listener":"smtp","address":"127\.0\.0\.1","port":\d+,"tls":"none","auth":"none"\}$/);
  t.notMatch(text(listening), /\u001b/, 'no colours into a pipe');
  t.ok(relay.logs.every((line) => line.unparsed), 'no JSON line so far');

  const session = await openDialog(port);
  t.match(await session.command('EHLO client.test'), /^250/);
  const disconnected = prettyLine(/INFO: disconnect /, 'the pretty disconnect');
  t.match(await session.command('QUIT'), /^221/);
  t.match(text(await disconnected), /INFO: disconnect \{"listener":"smtp","session":"[0-9a-v]{16}","client":"127\.0\.0\.1","helo":"client\.test",.*"commands":"ehlo=1 quit=1 commands=2"\}$/);

  // pretty → JSON
  const reloaded = relay.waitForNextLog((line) => line.msg === 'configuration reloaded', 'the reload, in JSON');
  await hangUp('{ format: json }');
  t.match(await reloaded, { level: 30, time: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/ });

  // info → warn: the reload is confirmed by a warning (a listener change needs a restart);
  // a session's connect, logged before its greeting, must not appear before the next warning
  const restartNeeded = (line: LogLine) => line.msg === 'configuration reloaded; some changes take effect only after a restart';
  const firstWarning = relay.waitForNextLog(restartNeeded, 'the first warning');
  await hangUp('{ level: warn, format: json }', port + 1);
  await firstWarning;
  const quiet = await openDialog(port);
  t.teardown(() => quiet.close());
  const secondWarning = relay.waitForNextLog(restartNeeded, 'the second warning');
  relay.child.kill('SIGHUP');
  await secondWarning;
  const between = relay.logs.slice(relay.logs.indexOf(await firstWarning) + 1, relay.logs.indexOf(await secondWarning));
  t.same(between, [], 'nothing at info level while log.level is warn');

  // back to info, pretty again
  const prettyAgain = prettyLine(/INFO: configuration reloaded \{/, 'the reload, pretty');
  await hangUp('{ level: info, format: pretty }');
  t.match(text(await prettyAgain), PRETTY);
});
