// README's "Testing locally with swaks" commands, run as written against the relay on the
// default config, copied into a scratch folder laid out like the project (as in
// defaultConfig.test.ts). Only the port changes — the copy listens on a free one, so this
// file and defaultConfig.test.ts may run side by side — and the file the bare-LF example
// writes goes into the test folder instead of /tmp. The first command is also Quick
// start's, whose promise follows: the message is deferred or bounced, and a bounce that
// cannot be delivered is logged and removed, never bounced again.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fencedBlocks, readmeBlock, readmeSection, substitute, type Substitution } from '../helpers/docText.js';
import { PROJECT_ROOT, runCli, startRelay } from '../helpers/relayProcess.js';
import { needsSwaks, runTool } from '../helpers/tools.js';

t.test("README's swaks commands against the default config", needsSwaks(), async (t) => {
  const root = t.testdir();
  mkdirSync(join(root, 'config'));
  const configFile = join(root, 'config', 'tlsrelay.yaml');
  copyFileSync(join(PROJECT_ROOT, 'config', 'tlsrelay.yaml'), configFile);
  writeFileSync(configFile, substitute(readFileSync(configFile, 'utf8'), [['port: 2525 ', 'port: 0 ']]));

  const relay = startRelay(configFile, root);
  t.teardown(() => relay.stop());
  const port = await relay.port();

  const commands = readmeBlock('### Testing locally with swaks', 'sh')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  t.equal(commands.length, 4, 'swaks, printf, swaks, swaks');
  const [relayed, writeEml, bareLf, outside] = commands as [string, string, string, string];
  t.ok(
    fencedBlocks(readmeSection('## Quick start'), 'sh').some((block) => block.trim() === relayed),
    'Quick start shows the same command',
  );
  const atPort: Substitution = ['127.0.0.1:2525', `127.0.0.1:${port}`];
  const eml = join(root, 'bare-lf.eml');
  const inTestDir: Substitution = ['/tmp/bare-lf.eml', eml];
  const sh = (command: string) => runTool('sh', ['-c', command]);

  const sent = await sh(substitute(relayed, [atPort]));
  t.equal(sent.code, 0, 'swaks exits 0');
  t.match(sent.output, /-> STARTTLS\n<-\s+220 /, 'over STARTTLS');
  const queued = /<~\s+250 2\.0\.0 Ok: queued as ([0-9a-f]+)/;
  t.match(sent.output, queued, '250 2.0.0 Ok: queued as …');

  t.equal((await sh(substitute(writeEml, [inTestDir]))).code, 0, 'printf writes the message');
  t.match(readFileSync(eml, 'latin1'), /[^\r]\n/, 'with a bare LF in it');
  const refused = await sh(substitute(bareLf, [atPort, inTestDir]));
  t.match(refused.output, /<~\*\s+550 5\.5\.2 Error: bare <CR> or <LF> received\n ~> QUIT\n<~\s+221 /, '550 5.5.2 at the end of the data, then a clean QUIT');
  t.equal(refused.code, 26, 'swaks: message refused after its data');

  const denied = await sh(substitute(outside, [atPort]));
  t.match(denied.output, /<~\*\s+550 5\.7\.1 Relaying denied/);
  t.equal(denied.code, 24, 'swaks: no recipient accepted');

  // Quick start: deferred or bounced, never dropped; where the resolver says NXDOMAIN
  // (as without network) the bounce to a@localhost cannot be delivered either
  const id = queued.exec(sent.output)?.[1];
  const attempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, 'the delivery attempt');
  t.match(attempt, { domain: 'example.com', connector: 'default', tlsLevel: 'opportunistic', outcome: /^(deferred|bounced)$/ });
  if (attempt.outcome !== 'bounced') return t.comment(`deferred here (${attempt.response}): the bounce path is not reached`);
  const bounce = await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === id, 'the bounce');
  t.match(bounce, { to: 'a@localhost' });
  const bounceAttempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === bounce.bounceId, "the bounce's attempt");
  if (bounceAttempt.outcome !== 'bounced') return t.comment(`the bounce was ${bounceAttempt.outcome} here (${bounceAttempt.response})`);
  const dropped = await relay.waitForLog((line) => line.queueId === bounce.bounceId && /^undeliverable; no bounce sent/.test(String(line.msg)), 'the double bounce warning');
  t.match(dropped, { level: 40, msg: 'undeliverable; no bounce sent: the message is itself a bounce (null sender)', recipients: ['a@localhost'] });
  // the envelope is removed right after the warning: wait until it is
  const queuedIds = async (): Promise<string[]> => {
    const listed = await runCli(['queue', 'list', '--json', '-c', configFile]);
    return (JSON.parse(listed.stdout) as { messages: Array<{ id: string }> }).messages.map((message) => message.id);
  };
  let left = await queuedIds();
  while (left.includes(String(bounce.bounceId))) left = await queuedIds();
  t.same(left, [], 'neither the message nor its bounce is left in the queue');
});
