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
  const configText = (accepted: string) => `listeners:
  - { name: smtp, port: 0, tls: none }
  - { name: smtps, port: 0, tls: implicit }
tls: { cert: relay.crt, key: relay.key }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [${accepted}]
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
});
