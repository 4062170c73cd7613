// A failed inbound TLS handshake is logged once, as a warning `inbound TLS handshake failed`
// with the client's address and port, the listener and a reason a person reads — on an
// implicit-TLS listener and after STARTTLS alike, with openssl s_client as the client that
// fails: a protocol below tls.minVersion, a suite the relay does not offer, a client that
// does not trust the relay's certificate, and plain text on the implicit-TLS port.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { makeCa } from '../helpers/pki.js';
import { startRelay, writeConfig, type LogLine } from '../helpers/relayProcess.js';
import { needsTool, runTool } from '../helpers/tools.js';

const FAILED = 'inbound TLS handshake failed';

t.test('failed inbound handshakes', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const dir = t.testdir();
  // a CA that signed nothing the relay serves: a client that trusts only it refuses the relay's certificate
  const otherCa = join(dir, 'other-ca.crt');
  writeFileSync(otherCa, (await makeCa('a CA the relay is not from')).cert);
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners:
  - { name: starttls, port: 0, tls: starttls }
  - { name: implicit, port: 0, tls: implicit }
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
`,
    ),
  );
  t.teardown(() => relay.stop());
  const ports = { starttls: await relay.port('starttls'), implicit: await relay.port('implicit') };

  const sClient = (listener: 'starttls' | 'implicit', options: string[]) =>
    runTool('openssl', ['s_client', '-connect', `127.0.0.1:${ports[listener]}`, ...(listener === 'starttls' ? ['-starttls', 'smtp'] : []), ...options]);
  const plainText = async (): Promise<void> => {
    const socket = connectTcp({ host: '127.0.0.1', port: ports.implicit });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write('EHLO client.test\r\n');
    await once(socket, 'close');
  };

  const cases: Array<{ name: string; listener: 'starttls' | 'implicit'; client: () => Promise<unknown>; reason: string }> = [];
  for (const listener of ['implicit', 'starttls'] as const) {
    cases.push(
      { name: 'TLS 1.1, below tls.minVersion', listener, client: () => sClient(listener, ['-tls1_1']), reason: 'unsupported protocol TLSv1.1' },
      { name: 'only a suite without forward secrecy', listener, client: () => sClient(listener, ['-tls1_2', '-cipher', 'AES128-SHA']), reason: 'no shared cipher' },
      { name: 'a client that does not trust the certificate', listener, client: () => sClient(listener, ['-CAfile', otherCa, '-verify_return_error']), reason: 'client sent an unknown CA alert' },
    );
  }
  cases.push({ name: 'plain text', listener: 'implicit', client: plainText, reason: 'not TLS (plain text on a TLS port)' });

  const failures: LogLine[] = [];
  for (const { name, listener, client, reason } of cases) {
    const logged = relay.waitForNextLog((line) => line.msg === FAILED, `the failure of "${name}" on ${listener}`);
    await client();
    const line = await logged;
    failures.push(line);
    t.match(line, { level: 40, listener, client: '127.0.0.1', clientPort: Number, reason }, `${listener}: ${name}`);
    if (listener === 'starttls') t.ok(relay.logs.some((l) => l.msg === 'connect' && l.session === line.session), 'after STARTTLS the line names the SMTP session');
  }

  // the lines of the failures above are all out once a later handshake has succeeded
  const established = relay.waitForNextLog((line) => line.msg === 'inbound TLS established', 'a good handshake');
  await sClient('starttls', []);
  await established;
  t.equal(relay.logs.filter((line) => line.msg === FAILED).length, cases.length, 'exactly one line for each failure');
  t.equal(new Set(failures.map((line) => line.clientPort)).size, cases.length, 'each names its own client port');
  t.notOk(relay.logs.some((line) => line.msg === 'inbound connection error'), 'and none is logged as a bare connection error');
});
