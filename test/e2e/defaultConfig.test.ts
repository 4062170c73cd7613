// `npm start` on a fresh checkout: the embedded default config, copied into a scratch
// folder laid out like the project (config/, certs/, var/) so the test leaves no files
// behind. It listens on the real defaults, 127.0.0.1:2525 and the admin listener's 127.0.0.1:9325.
import t from 'tap';
import { promises as dns } from 'node:dns';
import { copyFileSync, mkdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runCli, startRelay } from '../helpers/relayProcess.js';
import { adminRequest } from '../helpers/adminHttp.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

interface Fate {
  outcome: 'bounced' | 'deferred';
  response: RegExp;
}

const NAME_SERVICE_ERROR = 'Host or domain name not found\\. Name service error for name=example\\.com';

/**
 * What the relay must make of mail for example.com, from what the system resolver — the
 * one the default config uses — answers here: a name that does not exist bounces, a
 * resolver that fails or times out defers. Without network the answer is NXDOMAIN.
 */
async function fateOfExampleCom(): Promise<Fate> {
  const resolver = new dns.Resolver();
  const failure = (err: NodeJS.ErrnoException): string => err.code ?? 'unknown';
  const mx = await resolver.resolveMx('example.com').catch(failure);
  if (mx === 'ENOTFOUND') return { outcome: 'bounced', response: new RegExp(`^550 5\\.1\\.2 ${NAME_SERVICE_ERROR} type=MX: Host not found$`) };
  if (typeof mx === 'string' && mx !== 'ENODATA') return { outcome: 'deferred', response: new RegExp(`^451 4\\.4\\.3 ${NAME_SERVICE_ERROR} type=MX: Host not found, try again$`) };
  // with network: example.com publishes a null MX (RFC 7505)
  if (Array.isArray(mx) && mx.every((record) => record.exchange === '' || record.exchange === '.')) return { outcome: 'bounced', response: /^556 5\.1\.10 / };
  if (Array.isArray(mx)) throw new Error(`example.com has MX hosts here (${JSON.stringify(mx)}): this test needs a machine without network`);
  // no MX: the A and AAAA records decide (the implicit MX)
  const a = await resolver.resolve4('example.com').catch(failure);
  const aaaa = await resolver.resolve6('example.com').catch(failure);
  if (Array.isArray(a) || Array.isArray(aaaa)) throw new Error('example.com has addresses here: this test needs a machine without network');
  const temporary = [a, aaaa].some((code) => code !== 'ENOTFOUND' && code !== 'ENODATA');
  return temporary
    ? { outcome: 'deferred', response: new RegExp(`^451 4\\.4\\.3 ${NAME_SERVICE_ERROR} type=A: Host not found, try again$`) }
    : { outcome: 'bounced', response: new RegExp(`^550 5\\.4\\.4 ${NAME_SERVICE_ERROR} type=A: `) };
}

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
  t.match(await relay.waitForLog((line) => line.msg === 'admin listening', 'the admin listener'), { address: '127.0.0.1', port: 9325, password: false });
  t.equal((await adminRequest(9325, '/readyz')).status, 200, '/readyz on 127.0.0.1:9325');

  const certFile = join(root, 'certs', 'relay.crt');
  const keyFile = join(root, 'certs', 'relay.key');
  t.ok(existsSync(certFile), 'certs/relay.crt generated');
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key is readable by its owner only');
  const certificate = readFileSync(certFile, 'utf8');

  const result = await submit({ port: 2525, tls: 'starttls', from: 'a@localhost', to: ['someone@example.com'], data: sampleMessage('default config') });
  t.match(result, { ok: true, response: /^250 2\.0\.0 Ok: queued as [0-9a-f]+/ }, '250 for a relayed message from 127.0.0.1');
  const queueId = result.ok ? /queued as (\S+)/.exec(result.response)![1] : undefined;
  t.ok(existsSync(join(root, 'var', 'spool')), 'the spool is under var/spool');

  // never delivered and never dropped: bounced to the sender, or kept for a retry
  const fate = await fateOfExampleCom();
  const attempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === queueId, 'the delivery attempt');
  t.match(attempt, { connector: 'default', tlsLevel: 'opportunistic', domain: 'example.com', host: null, outcome: fate.outcome, response: fate.response }, `${fate.outcome}, as the resolver's answer demands`);
  const bounce = fate.outcome === 'bounced' ? await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === queueId, 'the bounce to the sender') : undefined;
  if (bounce) t.match(bounce, { to: 'a@localhost', recipients: 1 }, 'a DSN to the sender is queued');

  stopped = true;
  t.equal(await relay.stop(), 0, 'SIGTERM: exit 0');
  const spooled = await runCli(['queue', 'show', queueId ?? 'none', '--json', '-c', configFile], root);
  if (bounce) {
    t.equal(spooled.code, 1, 'the bounced message has left the spool');
  } else {
    t.equal(spooled.code, 0, 'the deferred message is still in the spool');
    const envelope = JSON.parse(spooled.stdout) as { state: string; recipients: Array<{ address: string; state: string; lastError?: string }> };
    t.equal(envelope.state, 'deferred');
    t.match(envelope.recipients, [{ address: 'someone@example.com', state: 'pending', lastError: fate.response }], 'waiting for its retry, with the reason');
  }

  // a second start keeps the existing certificate
  const again = startRelay(configFile, root);
  await again.waitForLog((line) => line.msg === 'listening', 'the second start');
  t.notOk(again.logs.some((line) => /self-signed development certificate/.test(String(line.msg))), 'no new certificate');
  t.equal(readFileSync(certFile, 'utf8'), certificate, 'the certificate was not overwritten');
  t.equal(await again.stop(), 0);
});
