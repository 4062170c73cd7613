// SIGTERM: listeners close, idle sessions get 421 at once, a session in DATA finishes and
// gets its 250, the relay exits 0 — and the message it took is delivered after the restart.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { startSink } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

t.test('graceful stop on SIGTERM', async (t) => {
  const dir = t.testdir();
  const downPort = await freePort();
  const config = writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1s] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${downPort}"], tls: none }]
`,
  );
  const relay = startRelay(config);
  const port = await relay.port();

  const idle = await openDialog(port);
  t.match(await idle.command('EHLO idle.test'), /^250/);
  const sending = await openDialog(port);
  t.match(await sending.command('EHLO busy.test'), /^250/);
  t.match(await sending.command('MAIL FROM:<a@client.test>'), /^250/);
  t.match(await sending.command('RCPT TO:<user@partner.test>'), /^250/);
  t.match(await sending.command('DATA'), /^354/);
  sending.write('Subject: sent during shutdown\r\n\r\nfirst half\r\n');

  relay.child.kill('SIGTERM');
  t.match(await idle.reply(), /^421 4\.3\.2 Service shutting down/, 'the idle session is told at once');
  sending.write('second half\r\n.\r\n');
  t.match(await sending.reply(), /^250 2\.0\.0 Ok: queued as/, 'the session in DATA finishes with 250');
  sending.write('QUIT\r\n');
  t.equal(await relay.exited, 0, 'exit 0');
  idle.close();
  sending.close();

  // the message taken during shutdown is in the spool; a restart delivers it
  const sink = await startSink({ tls: 'none' });
  t.teardown(() => sink.close());
  const again = startRelay(writeConfig(dir, readFileSync(config, 'utf8').replace(`127.0.0.1:${downPort}`, `127.0.0.1:${sink.port}`)));
  t.teardown(() => again.stop());
  await again.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'the delivery after the restart');
  t.match(sink.received[0]?.data, /first half\r\nsecond half\r\n/);
});
