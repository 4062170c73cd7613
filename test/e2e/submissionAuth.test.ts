// A submission listener with `auth: required`, against the relay process: AUTH only
// after STARTTLS, PLAIN and LOGIN from nodemailer and swaks, wrong passwords, the
// per-IP failure limit, and a log that never shows a secret.
import t from 'tap';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSink } from '../helpers/peers.js';
import { PROJECT_ROOT, runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { needsSwaks, runTool, type ToolRun } from '../helpers/tools.js';

const USER = 'alice';
const PASSWORD = 'Correct-Horse-Battery-9';
const WRONG_PASSWORD = 'Wrong-Guess-4711';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

const swaks = (args: string[]): Promise<ToolRun> => runTool('swaks', args);

t.test('submission with SMTP AUTH', async (t) => {
  const hashed = await runCli(['hash-password'], PROJECT_ROOT, `${PASSWORD}\n`);
  t.equal(hashed.code, 0, 'tlsrelay hash-password made the hash in the config');

  const sink = await startSink({ tls: 'none' });
  const dir = t.testdir();
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners: [{ name: submission, port: 0, tls: starttls, auth: required }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
auth:
  users: [{ name: ${USER}, passwordHash: "${hashed.stdout.trim()}" }]
  maxFailuresPerIp: 3
acceptedDomains: [contoso.test]
outbound: [{ name: all, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port('submission');
  const message = (subject: string) => ({ port, from: 'a@client.test', to: ['someone@example.com'], data: sampleMessage(subject) });

  await t.test('AUTH is neither offered nor taken before STARTTLS; MAIL is refused until AUTH', async (t) => {
    const dialog = await openDialog(port);
    t.teardown(() => dialog.close());
    const plainEhlo = await dialog.command('EHLO client.test');
    t.match(plainEhlo, /250-STARTTLS\r\n|250 STARTTLS\r\n/, 'STARTTLS offered');
    t.notMatch(plainEhlo, /AUTH/, 'no AUTH in plaintext');
    t.match(await dialog.command(`AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`), /^5\d\d /, 'AUTH in plaintext is refused, even with the right credentials');
    t.match(await dialog.command('MAIL FROM:<a@client.test>'), /^530 5\.7\.0 Must issue a STARTTLS command first\r\n$/);

    t.match(await dialog.startTls(), /^220 /);
    const secureEhlo = await dialog.command('EHLO client.test');
    t.match(secureEhlo, /^250-AUTH PLAIN LOGIN\r\n/m, 'PLAIN and LOGIN offered after STARTTLS');
    t.match(await dialog.command('AUTH CRAM-MD5'), /^504 /, 'no other mechanism');
    t.match(await dialog.command('MAIL FROM:<a@client.test>'), /^530 5\.7\.0 Authentication required\r\n$/, 'unauthenticated MAIL is refused');
  });

  await t.test('an unauthenticated session gets 530 for MAIL, even for an accepted domain', async (t) => {
    const result = await submit({ ...message('unauthenticated'), to: ['user@contoso.test'] });
    t.match(result, { ok: false, code: 530, response: /^530 5\.7\.0 Authentication required/, stage: 'MAIL FROM' });
  });

  await t.test('PLAIN and LOGIN after STARTTLS; the authenticated user relays to any domain', async (t) => {
    for (const method of ['PLAIN', 'LOGIN'] as const) {
      const result = await submit({ ...message(`auth ${method}`), auth: { user: USER, pass: PASSWORD, method } });
      t.match(result, { ok: true, accepted: ['someone@example.com'] }, method);
      await relay.waitForLog(
        (line) => line.msg === 'client authenticated' && line.user === USER && line.method === method && line.client === '127.0.0.1',
        `the ${method} success logged with user and client`,
      );
    }
    // each message's 'message accepted' comes before its delivery attempt in the log
    const delivered = (): number => relay.logs.filter((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered').length;
    await relay.waitForLog((line) => line.msg === 'delivery attempt' && delivered() === 2, 'both messages delivered');
    for (const received of sink.received) t.match(received.data, /with ESMTPSA \(version=TLSv1\.3 /, 'the Received header says ESMTPSA');
    t.equal(relay.logs.filter((line) => line.msg === 'message accepted' && line.user === USER).length, 2, 'accepted messages name the user');
  });

  await t.test('a wrong password gets 535 5.7.8 and is logged without the password', async (t) => {
    const result = await submit({ ...message('wrong'), auth: { user: USER, pass: WRONG_PASSWORD, method: 'PLAIN' } });
    t.match(result, { ok: false, code: 535, response: /^535 5\.7\.8 Authentication credentials invalid/ });
    const unknown = await submit({ ...message('unknown user'), auth: { user: 'mallory', pass: PASSWORD, method: 'LOGIN' } });
    t.match(unknown, { ok: false, code: 535, response: /^535 5\.7\.8 Authentication credentials invalid/ }, 'an unknown user gets the same reply');
    await relay.waitForLog((line) => line.msg === 'authentication failed' && line.user === USER && line.client === '127.0.0.1', 'the failure logged');
    await relay.waitForLog((line) => line.msg === 'authentication failed' && line.user === 'mallory' && line.method === 'LOGIN', 'the unknown user logged');
  });

  await t.test('swaks --auth PLAIN and LOGIN', needsSwaks(), async (t) => {
    for (const method of ['PLAIN', 'LOGIN']) {
      const sent = await swaks(['--server', `127.0.0.1:${port}`, '--tls', '--auth', method, '--auth-user', USER, '--auth-password', PASSWORD, '--from', 'a@client.test', '--to', 'someone@example.com', '--header', `Subject: swaks ${method}`]);
      t.equal(sent.code, 0, `swaks ${method} exits 0`);
      t.match(sent.output, /<~\s+235 2\.7\.0 Authentication successful/, `${method} accepted`);
      t.match(sent.output, /<~\s+250 2\.0\.0 Ok: queued as/);
    }
    const wrong = await swaks(['--server', `127.0.0.1:${port}`, '--tls', '--auth', 'LOGIN', '--auth-user', USER, '--auth-password', WRONG_PASSWORD, '--from', 'a@client.test', '--to', 'someone@example.com']);
    t.equal(wrong.code, 28, 'swaks: authentication failed');
    t.match(wrong.output, /<~\*\s+535 5\.7\.8 Authentication credentials invalid/);
  });

  await t.test('after maxFailuresPerIp failures from one IP, AUTH gets 454 4.7.0 — other IPs are not affected', async (t) => {
    const from = (localAddress: string, pass: string) => submit({ ...message('limit'), localAddress, auth: { user: USER, pass, method: 'PLAIN' } });
    for (let i = 1; i <= 3; i++) t.match(await from('127.0.0.3', WRONG_PASSWORD), { ok: false, code: 535 }, `failure ${i}`);
    const blocked = await from('127.0.0.3', PASSWORD);
    t.match(blocked, { ok: false, code: 454, response: /^454 4\.7\.0 Too many authentication failures, try again later/ }, 'even the right password is refused');
    await relay.waitForLog(
      (line) => line.msg === 'authentication refused: too many failures from this client' && line.client === '127.0.0.3' && line.limit === 3,
      'the refusal logged',
    );
    t.match(await from('127.0.0.4', PASSWORD), { ok: true }, 'another client IP still gets in');
  });

  // Everything the relay wrote during the run: its JSON lines (pino escapes none of the
  // characters these secrets consist of) and stderr.
  await relay.stop();
  const stdout = relay.child.stdout!;
  if (!stdout.closed) await once(stdout, 'close');
  const output = relay.logs.map((line) => JSON.stringify(line)).join('\n') + relay.stderr();
  t.ok(output.includes('"user":"alice"'), 'the log was captured');
  const secrets: Record<string, string> = {
    password: PASSWORD,
    'wrong password': WRONG_PASSWORD,
    'base64 PLAIN string': b64(`\0${USER}\0${PASSWORD}`).replace(/=+$/, ''),
    'base64 PLAIN string with the wrong password': b64(`\0${USER}\0${WRONG_PASSWORD}`).replace(/=+$/, ''),
    'base64 user name as LOGIN sends it': b64(USER).replace(/=+$/, ''),
    'base64 password as LOGIN sends it': b64(PASSWORD).replace(/=+$/, ''),
    'password hash': hashed.stdout.trim().split('$').pop()!,
  };
  const keyBody = readFileSync(join(dir, 'relay.key'), 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('-----'));
  t.ok(keyBody.length > 0, 'the private key was read');
  keyBody.forEach((line, i) => (secrets[`private key line ${i + 1}`] = line));
  for (const [what, secret] of Object.entries(secrets)) t.notOk(output.includes(secret), `the log does not contain the ${what}`);
});
