// Open relay: a client that may not relay tries every address trick. Each is either
// refused at RCPT or accepted only because the domain after the last '@' is accepted —
// and then the message provably goes to that domain's route and nowhere else.
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

/** Tricks aimed at relaying to evil.test: the relay must refuse them. */
const refused = [
  'user@evil.test',
  'user%contoso.test@evil.test',
  'contoso.test!user',
  'evil.test!user',
  'contoso.test!user@evil.test',
  '"user@contoso.test"@evil.test',
  '"user@evil.test"',
  'user@contoso.test@evil.test',
  '@contoso.test:user@evil.test',
  '@contoso.test,@contoso.test:user@evil.test',
  'user@[127.0.0.1]',
  'user@[IPv6:::1]',
  'user@EVIL.TEST.',
  'user@contoso.test.evil.test',
  'user@contoso.test..',
  'user@évil.test',
  'user@xn--vil-bma.test',
  'user@contoso.test ',
  // the domain after the last '@' is accepted, but a next hop that honours % or ! would
  // relay on to evil.test: sender-specified routing (Postfix: allow_untrusted_routing = no)
  'user%evil.test@contoso.test',
  'evil.test!user@contoso.test',
  '"user%evil.test"@contoso.test',
];

/** Accepted because their last-'@' domain is accepted: they must only reach contoso.test's route. */
const acceptedForContoso = [
  '@evil.test:user@contoso.test',
  'user@bücher.test',
  'user@XN--BCHER-KVA.TEST',
];

/** Either refused (smtp-server's parser answers 501 to these) or, if accepted, only for contoso.test. */
const refusedOrForContoso = ['"user@evil.test"@contoso.test', 'user@CONTOSO.TEST.', 'user@contoso.test.'];

t.test('a client that may not relay: every address trick is refused or stays on the accepted route', async (t) => {
  const contoso = await startSink({ tls: 'none' });
  const evil = await startSink({ tls: 'none' });
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test, bücher.test]
inbound:
  - { name: office, match: { ips: [192.0.2.0/24] }, relay: true }
outbound:
  - { name: contoso, domains: [contoso.test, xn--bcher-kva.test], smartHosts: ["127.0.0.1:${contoso.port}"], tls: none }
  - { name: elsewhere, domains: ["*"], smartHosts: ["127.0.0.1:${evil.port}"], tls: none }
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await contoso.close();
    await evil.close();
  });
  const dialog = await openDialog(await relay.port());
  t.teardown(() => dialog.close());
  t.match(await dialog.command('EHLO client.test'), /^250/);
  t.match(await dialog.command('MAIL FROM:<a@client.test> SMTPUTF8'), /^250/);

  for (const address of refused) {
    t.match(await dialog.command(`RCPT TO:<${address}>`), /^5\d\d /, `refused: ${address}`);
  }
  for (const address of acceptedForContoso) {
    t.match(await dialog.command(`RCPT TO:<${address}>`), /^250 /, `accepted for the accepted domain: ${address}`);
  }
  let acceptedCount = acceptedForContoso.length;
  for (const address of refusedOrForContoso) {
    const reply = await dialog.command(`RCPT TO:<${address}>`);
    t.match(reply, /^(250|5\d\d) /, `refused or accepted for contoso.test: ${address}`);
    if (reply.startsWith('250')) acceptedCount++;
  }
  t.match(await dialog.command('DATA'), /^354/);
  const queued = await dialog.command('Subject: tricks\r\n\r\nhello\r\n.');
  t.match(queued, /^250 .*queued as ([0-9a-f]+)/);
  const queueId = /queued as ([0-9a-f]+)/.exec(queued)![1];

  await relay.waitForLog(
    (line) => line.msg === 'delivery attempt' && line.queueId === queueId && line.outcome === 'delivered' && line.domain === 'xn--bcher-kva.test',
    'the bücher.test recipients delivered',
  );
  await relay.waitForLog(
    (line) => line.msg === 'delivery attempt' && line.queueId === queueId && line.outcome === 'delivered' && line.domain === 'contoso.test',
    'the contoso.test recipients delivered',
  );
  t.equal(evil.connections, 0, 'nothing ever reached the catch-all route');
  const recipients = contoso.received.flatMap((message) => message.to);
  // user@bücher.test and user@XN--BCHER-KVA.TEST name one mailbox: queued once, in A-labels
  // (which the sink, an smtp-server, shows in Unicode)
  t.equal(recipients.length, acceptedCount - 1, 'every accepted recipient went to the accepted domain route, each mailbox once');
  t.same(
    recipients.filter((to) => to.toLowerCase() === 'user@bücher.test'),
    ['user@bücher.test'],
    'the two spellings of user@bücher.test arrived as one recipient',
  );
  t.ok(
    relay.logs.some((line) => line.msg === 'recipient refused' && line.to === 'user@[127.0.0.1]' && line.code === 550),
    'an IP literal is refused by the relay policy, and logged',
  );
});
