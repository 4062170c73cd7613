// SIGHUP reloads the config and certificates for new sessions; an invalid config is
// refused with its error in the log and the old one keeps serving.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { join } from 'node:path';
import { makeCert } from '../helpers/pki.js';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { openDialog, type SmtpDialog } from '../helpers/smtpDialog.js';

/** The CN of the certificate an implicit-TLS listener serves right now. */
async function servedName(port: number): Promise<string | undefined> {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  await once(socket, 'secureConnect');
  const cn = socket.getPeerCertificate().subject?.CN;
  socket.destroy();
  return Array.isArray(cn) ? cn[0] : cn;
}

t.test('SIGHUP', async (t) => {
  const dir = t.testdir();
  const sink = await startSink({ tls: 'none' });
  const first = await makeCert({ names: ['first.relay.test'] });
  writeFileSync(join(dir, 'relay.crt'), first.cert);
  writeFileSync(join(dir, 'relay.key'), first.key);
  const configText = (accepted: string, maxMessageSize = 1_000_000) => `listeners:
  - { name: smtp, port: 0, tls: none }
  - { name: smtps, port: 0, tls: implicit }
tls: { cert: relay.crt, key: relay.key }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [${accepted}]
smtp: { maxMessageSize: ${maxMessageSize} }
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`;
  const config = writeConfig(dir, configText('a.test'));
  const relay = startRelay(config);
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();
  const tlsPort = await relay.port('smtps');
  const send = (to: string) => submit({ port, tls: 'none', from: 'x@client.test', to: [to], data: sampleMessage(to) });
  const reloads = () => relay.logs.filter((line) => /^configuration reload/.test(String(line.msg))).length;
  const hangUp = async () => {
    const before = reloads();
    relay.child.kill('SIGHUP');
    return relay.waitForLog((line) => /^configuration reload/.test(String(line.msg)) && reloads() > before, 'the reload outcome');
  };

  t.match(await send('user@b.test'), { ok: false, code: 550 }, 'b.test is not accepted yet');
  t.equal(await servedName(tlsPort), 'first.relay.test');

  writeFileSync(config, configText('a.test, b.test'));
  const second = await makeCert({ names: ['second.relay.test'] });
  writeFileSync(join(dir, 'relay.crt'), second.cert);
  writeFileSync(join(dir, 'relay.key'), second.key);
  t.match(await hangUp(), { msg: 'configuration reloaded' });
  t.match(await send('user@b.test'), { ok: true }, 'the new acceptedDomains apply');
  t.equal(await servedName(tlsPort), 'second.relay.test', 'the new certificate is served');

  writeFileSync(config, configText('a.test, b.test') + 'colour: blue\n');
  const refused = await hangUp();
  t.match(refused, { msg: 'configuration reload refused; the running configuration stays', level: 50 });
  t.match((refused.errors as string[])[0], /tlsrelay\.yaml:\d+:1: .*colour/, 'the error names file:line:col');
  t.match(await send('user@b.test'), { ok: true }, 'the old configuration keeps serving');
  t.equal(relay.child.exitCode, null, 'still running');

  // 3000 bytes: under the limit before the reload, over it after
  const body = `Subject: size\r\n\r\n${`${'x'.repeat(98)}\r\n`.repeat(30)}.`;
  const transaction = async (dialog: SmtpDialog, mail: string): Promise<string> => {
    const reply = await dialog.command(mail);
    if (!reply.startsWith('250')) return reply;
    t.match(await dialog.command('RCPT TO:<user@a.test>'), /^250 /);
    t.match(await dialog.command('DATA'), /^354/);
    return dialog.command(body);
  };
  const before = await openDialog(port);
  t.teardown(() => before.close());
  t.match(await before.command('EHLO client.test'), /250 SIZE 1000000\r\n/);
  writeFileSync(config, configText('a.test, b.test', 2000));
  t.match(await hangUp(), { msg: 'configuration reloaded' });
  const after = await openDialog(port);
  t.teardown(() => after.close());
  t.match(await after.command('EHLO client.test'), /250 SIZE 2000\r\n/, 'EHLO advertises the new smtp.maxMessageSize');
  t.match(await after.command('MAIL FROM:<x@client.test> SIZE=3000'), /^552 5\.3\.4 /, 'SIZE= over the new limit gets 552 5.3.4');
  t.match(await transaction(after, 'MAIL FROM:<x@client.test>'), /^552 5\.3\.4 /, 'a body over the new limit gets 552 5.3.4');
  t.match(await transaction(before, 'MAIL FROM:<x@client.test> SIZE=3000'), /^250 /, 'a session open across the reload keeps the limit it started with');
});
