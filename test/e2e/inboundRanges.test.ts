// Every form of address range the loader accepts, through the relay process: a client
// from inside the range and one from outside it, over an IPv4 listener and over a
// listener on `::`, which takes IPv4 clients as IPv4-mapped addresses (::ffff:127.0.0.2).
// Loopback has 127.0.0.1, 127.0.0.2 and ::1 to come from.
import t from 'tap';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

/** One connector per range form, told apart by its sender domain; require.ips is the range under test. */
const FORMS: Array<{ form: string; range: string; inside: string[]; outside: string[] }> = [
  { form: 'ipv4-cidr', range: '127.0.0.0/31', inside: ['127.0.0.1'], outside: ['127.0.0.2', '::1'] },
  { form: 'ipv4-address', range: '127.0.0.2', inside: ['127.0.0.2'], outside: ['127.0.0.1', '::1'] },
  { form: 'ipv4-all', range: '0.0.0.0/0', inside: ['127.0.0.1', '127.0.0.2'], outside: ['::1'] },
  { form: 'ipv6-cidr', range: '::/127', inside: ['::1'], outside: ['127.0.0.1'] },
  { form: 'ipv6-cidr-elsewhere', range: '::2/127', inside: [], outside: ['::1', '127.0.0.1'] },
  { form: 'ipv6-address', range: '::1', inside: ['::1'], outside: ['127.0.0.1'] },
  // an IPv6 range holds no IPv4 client, not even ::/0
  { form: 'ipv6-all', range: '::/0', inside: ['::1'], outside: ['127.0.0.1', '127.0.0.2'] },
  { form: 'mapped-cidr', range: '::ffff:127.0.0.0/127', inside: ['127.0.0.1'], outside: ['127.0.0.2', '::1'] },
  { form: 'mapped-hex-cidr', range: '::ffff:7f00:2/128', inside: ['127.0.0.2'], outside: ['127.0.0.1', '::1'] },
  { form: 'mapped-address', range: '::ffff:127.0.0.2', inside: ['127.0.0.2'], outside: ['127.0.0.1', '::1'] },
  { form: 'mapped-all', range: '::ffff:0:0/96', inside: ['127.0.0.1', '127.0.0.2'], outside: ['::1'] },
];

t.test('a server on :: sees IPv4 clients as IPv4-mapped addresses (the path the dual listener tests)', async (t) => {
  const server = createServer((socket) => socket.end(String(socket.remoteAddress)));
  server.listen(0, '::');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, localAddress: '127.0.0.2' });
  const [seen] = (await once(client, 'data')) as [Buffer];
  t.equal(seen.toString(), '::ffff:127.0.0.2');
});

t.test('require.ips: inside and outside every range form, over IPv4 and dual-stack listeners', async (t) => {
  const dir = t.testdir();
  const file = writeConfig(
    dir,
    `listeners:
  - { name: ipv4, address: 127.0.0.1, port: 0, tls: none }
  - { name: dual, address: "::", port: 0, tls: none }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
inbound:
${FORMS.map(({ form, range }) => `  - { name: ${form}, match: { senderDomains: [${form}.test] }, require: { ips: ["${range}"] } }`).join('\n')}
`,
  );
  const checked = await runCli(['check-config', '-c', file]);
  t.equal(checked.code, 0, `check-config accepts every form: ${checked.stderr}`);
  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  const ports = { ipv4: await relay.port('ipv4'), dual: await relay.port('dual') };

  // a v4 client reaches both listeners, a v6 client only the dual one
  const routes = (client: string): Array<{ listener: 'ipv4' | 'dual'; host: string }> =>
    client.includes(':') ? [{ listener: 'dual', host: '::1' }] : [{ listener: 'ipv4', host: '127.0.0.1' }, { listener: 'dual', host: '127.0.0.1' }];
  for (const client of ['127.0.0.1', '127.0.0.2', '::1']) {
    for (const { listener, host } of routes(client)) {
      const dialog = await openDialog(ports[listener], { host, localAddress: client });
      await dialog.command('EHLO client.test');
      for (const { form, range, inside, outside } of FORMS) {
        const expected = inside.includes(client) ? 'inside' : outside.includes(client) ? 'outside' : undefined;
        if (expected === undefined) continue;
        const reply = await dialog.command(`MAIL FROM:<billing@${form}.test>`);
        const what = `${client} via the ${listener} listener is ${expected} ${range}`;
        if (expected === 'inside') t.match(reply, /^250 /, what);
        else t.equal(reply, `550 5.7.1 Connector "${form}" does not accept this sender from ${client}\r\n`, what);
        await dialog.command('RSET');
      }
      dialog.close();
    }
  }
  t.notOk(relay.logs.some((line) => typeof line.level === 'number' && line.level >= 50), 'no range failed to build at run time (no error logged)');
});
