// tlsrelay health: the first listener's greeting, asked as a client would. Against the
// relay itself (plain and implicit TLS), a stopped one, and peers that greet otherwise.
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { greetingIsHealthy, probeAddress } from '../../src/cli/health.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';

t.test('the pure half: loopback for a listener on every address; only 220 is healthy', async (t) => {
  t.equal(probeAddress({ address: '0.0.0.0' }), '127.0.0.1');
  t.equal(probeAddress({ address: '::' }), '::1');
  t.equal(probeAddress({ address: '192.0.2.7' }), '192.0.2.7');
  t.ok(greetingIsHealthy('220 relay.test ESMTP'));
  t.ok(greetingIsHealthy('220-relay.test | 220 ESMTP'));
  t.notOk(greetingIsHealthy('421 4.3.2 shutting down'));
  t.notOk(greetingIsHealthy('554 5.3.2 no service'));
  t.notOk(greetingIsHealthy('2200 odd'));
});

t.test('a running relay greets: exit 0 and one line; stopped: exit 1 and one line', async (t) => {
  const dir = t.testdir({});
  const port = await freePort();
  const file = writeConfig(dir, `server: { hostname: relay.test }\nlisteners: [{ name: mx, address: 0.0.0.0, port: ${port}, tls: none }]\nqueue: { dir: spool }\n`);
  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start');
  const healthy = await runCli(['health', '-c', file]);
  t.match(healthy, { code: 0, stderr: '' });
  t.match(healthy.stdout, new RegExp(`^tlsrelay health: ok: listener "mx" on 127\\.0\\.0\\.1:${port} greets: 220 relay\\.test .*\\n$`));
  t.match(await relay.waitForLog((line) => line.msg === 'disconnect', 'the probe’s session'), { commands: 'quit=1 commands=1' }, 'ended by its QUIT');

  await relay.stop();
  t.strictSame(await runCli(['health', '-c', file]), { code: 1, stdout: '', stderr: `tlsrelay health: unhealthy: listener "mx" on 127.0.0.1:${port}: ECONNREFUSED\n` });
});

t.test('an implicit-TLS first listener is asked over TLS, its development certificate not judged', async (t) => {
  const dir = t.testdir({});
  const port = await freePort();
  const file = writeConfig(dir, `server: { hostname: relay.test }\nlisteners: [{ name: smtps, port: ${port}, tls: implicit }]\ntls: { cert: relay.crt, key: relay.key, generateIfMissing: true }\nqueue: { dir: spool }\n`);
  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start');
  t.match(await runCli(['health', '-c', file]), { code: 0, stdout: /^tlsrelay health: ok: listener "smtps" on 127\.0\.0\.1:\d+ greets: 220 relay\.test /, stderr: '' });
});

/** A loopback SMTP peer that greets each client with `greeting` (raw, CRLFs included). */
async function greeter(t: Test, greeting: string): Promise<number> {
  // resume: the client's QUIT is read (and dropped), so its FIN is seen and the socket closes
  const server = createServer((socket: Socket) => socket.end(greeting).resume());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

t.test('a greeting other than 220 is unhealthy; a multi-line 220 is read whole', async (t) => {
  const dir = t.testdir({});
  const check = async (greeting: string) => {
    const port = await greeter(t, greeting);
    return runCli(['health', '-c', writeConfig(dir, `listeners: [{ name: mx, port: ${port}, tls: none }]\nqueue: { dir: spool }\n`)]);
  };
  t.match(await check('554 5.3.2 no service here\r\n'), { code: 1, stdout: '', stderr: /^tlsrelay health: unhealthy: listener "mx" on 127\.0\.0\.1:\d+ greets: 554 5\.3\.2 no service here\n$/ });
  t.match(await check('220-relay.test first\r\n220 second\r\n'), { code: 0, stdout: /greets: 220-relay\.test first \| 220 second\n$/ });
  t.match(await check(''), { code: 1, stderr: /: closed before greeting\n$/ }, 'a peer that hangs up at once');
});

t.test('a first listener on port 0 has no port to ask: exit 2 saying so', async (t) => {
  const file = writeConfig(t.testdir({}), 'listeners: [{ name: mx, port: 0, tls: none }]\nqueue: { dir: spool }\n');
  t.strictSame(await runCli(['health', '-c', file]), { code: 2, stdout: '', stderr: 'tlsrelay health: listener "mx" has port 0: the system picks its port at start, so there is none to ask\n' });
});
