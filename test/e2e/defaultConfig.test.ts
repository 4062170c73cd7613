// `npm start` on a fresh checkout: the embedded default config, copied into a scratch
// folder laid out like the project (config/, certs/, var/) so the test leaves no files
// behind. It listens on the real default, 127.0.0.1:2525.
import t from 'tap';
import { copyFileSync, mkdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, startRelay } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

t.test('the default config: dev certificate, STARTTLS on 127.0.0.1:2525, local relaying, spool', async (t) => {
  const root = t.testdir();
  mkdirSync(join(root, 'config'));
  const configFile = join(root, 'config', 'tlsrelay.yaml');
  copyFileSync(join(PROJECT_ROOT, 'config', 'tlsrelay.yaml'), configFile);

  const relay = startRelay(configFile, root);
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await relay.stop();
  });
  const warning = await relay.waitForLog((line) => line.level === 40 && /self-signed development certificate/.test(String(line.msg)), 'the dev certificate warning');
  t.ok(warning, 'a warning says a dev certificate was generated');
  const listening = await relay.waitForLog((line) => line.msg === 'listening', 'the listener');
  t.match(listening, { listener: 'smtp', address: '127.0.0.1', port: 2525, tls: 'starttls' });

  const certFile = join(root, 'certs', 'relay.crt');
  const keyFile = join(root, 'certs', 'relay.key');
  t.ok(existsSync(certFile), 'certs/relay.crt generated');
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key is readable by its owner only');
  const certificate = readFileSync(certFile, 'utf8');

  const result = await submit({ port: 2525, tls: 'starttls', from: 'a@localhost', to: ['someone@example.com'], data: sampleMessage('default config') });
  t.match(result, { ok: true, response: /^250 2\.0\.0 Ok: queued as [0-9a-f]+/ }, '250 for a relayed message from 127.0.0.1');
  const queueId = result.ok ? /queued as (\S+)/.exec(result.response)![1] : undefined;
  t.ok(existsSync(join(root, 'var', 'spool')), 'the spool is under var/spool');

  // with no network the answer is NXDOMAIN (bounce) or SERVFAIL/timeout (defer): never a silent drop
  const attempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === queueId, 'the delivery attempt');
  t.match(attempt, { connector: 'default', tlsLevel: 'opportunistic', domain: 'example.com' });
  t.ok(['deferred', 'bounced', 'delivered'].includes(String(attempt.outcome)), `outcome ${attempt.outcome}: ${attempt.response}`);
  if (attempt.outcome === 'bounced') {
    await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === queueId, 'the bounce to the sender');
  }

  stopped = true;
  t.equal(await relay.stop(), 0, 'SIGTERM: exit 0');

  // a second start keeps the existing certificate
  const again = startRelay(configFile, root);
  await again.waitForLog((line) => line.msg === 'listening', 'the second start');
  t.notOk(again.logs.some((line) => /self-signed development certificate/.test(String(line.msg))), 'no new certificate');
  t.equal(readFileSync(certFile, 'utf8'), certificate, 'the certificate was not overwritten');
  t.equal(await again.stop(), 0);
});
