// Sender-specified routing through the real relay: a client that may not relay gets
// 550 5.7.1 Relaying denied for recipients whose local part routes on (`%`, `!`, a quoted
// one too), even at an accepted domain, as Postfix does with allow_untrusted_routing = no;
// a source route is dropped and the mailbox behind it taken; a relaying client's routed
// recipients are accepted and passed on as they came.
import t from 'tap';
import { startRawSink } from '../helpers/rawSink.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

const ROUTED = ['user%evil.test@victim.test', 'evil.test!user@victim.test', '"user%evil.test"@victim.test', '"evil.test!user"@victim.test'];

t.test('sender-specified routing', async (t) => {
  const sink = await startRawSink();
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
acceptedDomains: [victim.test]
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();
  // the relay may carry both messages on one connection to the sink: RCPT lines in order of arrival
  const rcptLines = (): string[] => sink.commands.filter((c) => c.line.startsWith('RCPT ')).map((c) => c.line);

  await t.test('from a client that may not relay: refused at RCPT, the plain mailbox accepted', async (t) => {
    const dialog = await openDialog(port, { localAddress: '127.0.0.2' });
    t.teardown(() => dialog.close());
    await dialog.command('EHLO client.test');
    t.equal(await dialog.command('MAIL FROM:<a@client.test>'), '250 2.1.0 Ok\r\n');
    for (const address of ROUTED) t.equal(await dialog.command(`RCPT TO:<${address}>`), '550 5.7.1 Relaying denied\r\n', address);
    t.equal(await dialog.command('RCPT TO:<@a.test,@b.test:user@victim.test>'), '250 2.1.5 Ok\r\n', 'a source route is dropped, the mailbox behind it accepted');
    t.equal(await dialog.command('RCPT TO:<other@victim.test>'), '250 2.1.5 Ok\r\n');
    t.match(await dialog.command('DATA'), /^354 /);
    t.match(await dialog.command('Subject: routing\r\n\r\nbody\r\n.'), /^250 2\.0\.0 Ok: queued as /);
    for (const address of ROUTED) {
      t.match(relay.logs.find((line) => line.msg === 'recipient refused' && line.to === address), { client: '127.0.0.2', connector: null, code: 550, response: '5.7.1 Relaying denied' }, `${address} logged`);
    }
    await sink.received(1);
    t.same(rcptLines(), ['RCPT TO:<user@victim.test>', 'RCPT TO:<other@victim.test>'], 'only the accepted mailboxes reach the next hop');
  });

  await t.test('from a client that may relay: accepted and passed on unchanged', async (t) => {
    const dialog = await openDialog(port);
    t.teardown(() => dialog.close());
    await dialog.command('EHLO client.test');
    await dialog.command('MAIL FROM:<a@client.test>');
    for (const address of ROUTED) t.equal(await dialog.command(`RCPT TO:<${address}>`), '250 2.1.5 Ok\r\n', address);
    t.match(await dialog.command('DATA'), /^354 /);
    t.match(await dialog.command('Subject: routing\r\n\r\nbody\r\n.'), /^250 2\.0\.0 Ok: queued as /);
    await sink.received(2);
    t.same(rcptLines().slice(2), ROUTED.map((address) => `RCPT TO:<${address}>`));
  });
});
