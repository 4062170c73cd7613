// What a client may send, through the real relay over raw sockets.
// Message text sent before the relay's 354 (RFC 2920 §3.1): from a client that may not
// relay it gets Postfix's 554 5.5.0 in place of the 354 and the connection is closed, and
// nothing of it is queued; MAIL, RCPT and DATA in one packet (legitimate PIPELINING) still
// work; a client that may relay — by its connector or by AUTH — has its early text taken
// as if it had waited.
// Sender-specified routing: a client that may not relay gets 550 5.7.1 Relaying denied for
// recipients whose local part routes on (`%`, `!`, quoted too), even at an accepted domain,
// as Postfix does with allow_untrusted_routing = no; a source route is dropped and the
// mailbox behind it taken; a relaying client's routed recipients pass on as they came.
import t, { type Test } from 'tap';
import type { LogLine } from '../helpers/relayProcess.js';
import { startRawSink } from '../helpers/rawSink.js';
import { openDialog, type SmtpDialog } from '../helpers/smtpDialog.js';
import { authPlain, startSubmissionRelay, SUBMISSION_PASSWORD, SUBMISSION_USER } from '../helpers/submissionRelay.js';

const SYNCHRONIZATION = '554 5.5.0 Error: SMTP protocol synchronization\r\n';
const ENVELOPE = (to: string): string => `MAIL FROM:<a@client.test>\r\nRCPT TO:<${to}>\r\n`;
const text = (subject: string): string => `Subject: ${subject}\r\n\r\nsent before the 354\r\n`;
const ROUTED = ['user%evil.test@victim.test', 'evil.test!user@victim.test', '"user%evil.test"@victim.test', '"evil.test!user"@victim.test'];

t.test('what clients may send', async (t) => {
  const sink = await startRawSink();
  const { relay, smtp, submission } = await startSubmissionRelay(
    t,
    'optional',
    `acceptedDomains: [victim.test]
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
  );
  t.teardown(() => sink.close());
  let delivered = 0;

  /** EHLO from `localAddress` (after STARTTLS and AUTH when asked), then the writes given, each a packet of its own. */
  async function session(t: Test, port: number, localAddress: string, how: { tls?: boolean; auth?: boolean } = {}): Promise<SmtpDialog> {
    const dialog = await openDialog(port, { localAddress });
    if (how.tls) {
      await dialog.command('EHLO client.test');
      t.match(await dialog.startTls(), /^220 /, 'STARTTLS');
    }
    t.match(await dialog.command('EHLO client.test'), /^250-/);
    if (how.auth) t.match(await dialog.command(`AUTH PLAIN ${authPlain(SUBMISSION_USER, SUBMISSION_PASSWORD)}`), /^235 /, 'authenticated');
    return dialog;
  }

  /** The next disconnect line of a session from `client`; the caller asks before the session starts. */
  const nextDisconnect = (client: string): Promise<LogLine> => relay.waitForNextLog((line) => line.msg === 'disconnect' && line.client === client, `the disconnect of ${client}`);

  async function refused(t: Test, dialog: SmtpDialog, disconnect: Promise<LogLine>, client: string, expect: { commands: string }): Promise<void> {
    if (!t.equal(await dialog.reply(), SYNCHRONIZATION, 'Postfix\'s reply in place of the 354')) return dialog.close();
    await dialog.closed();
    t.pass('and the relay closed the connection');
    const line = await disconnect;
    t.equal(line.commands, expect.commands, 'DATA counted as failed, as Postfix counts it');
    t.equal(line.messages, 0);
    t.match(
      relay.logs.find((l) => l.msg === 'improper command pipelining after DATA: message text sent before 354' && l.session === line.session),
      { client, connector: null, code: 554, response: '5.5.0 Error: SMTP protocol synchronization' },
      'logged as a warning with the client',
    );
    t.notOk(relay.logs.some((l) => l.msg === 'message accepted' && l.session === line.session), 'nothing of it was queued');
  }

  async function accepted(t: Test, dialog: SmtpDialog, subject: string): Promise<void> {
    t.match(await dialog.reply(), /^354 /, 'the 354 comes');
    t.match(await dialog.reply(), /^250 2\.0\.0 Ok: queued as /, 'and the message is queued');
    t.match(await dialog.command('QUIT'), /^221 /);
    dialog.close();
    await sink.received(++delivered);
    t.match(sink.messages[delivered - 1]?.data, new RegExp(`\r\nSubject: ${subject}\r\n\r\nsent before the 354\r\n$`), 'delivered whole');
  }

  await t.test('a client that may not relay: "DATA\\r\\nSubject: …" in one write gets 554 5.5.0 instead of 354, and the connection is closed', async (t) => {
    const disconnect = nextDisconnect('127.0.0.2');
    const dialog = await session(t, smtp, '127.0.0.2');
    t.equal(await dialog.command('MAIL FROM:<a@client.test>'), '250 2.1.0 Ok\r\n');
    t.equal(await dialog.command('RCPT TO:<user@victim.test>'), '250 2.1.5 Ok\r\n', 'mail for an accepted domain');
    await dialog.write(`DATA\r\n${text('early and whole')}.\r\nQUIT\r\n`);
    await refused(t, dialog, disconnect, '127.0.0.2', { commands: 'ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4' });
  });

  await t.test('the same with the whole transaction in one write, and the text not finished', async (t) => {
    const disconnect = nextDisconnect('127.0.0.2');
    const dialog = await session(t, smtp, '127.0.0.2');
    await dialog.write(`${ENVELOPE('user@victim.test')}DATA\r\n${text('early, unfinished')}`);
    t.equal(await dialog.reply(), '250 2.1.0 Ok\r\n');
    t.equal(await dialog.reply(), '250 2.1.5 Ok\r\n');
    await refused(t, dialog, disconnect, '127.0.0.2', { commands: 'ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4' });
  });

  await t.test('inside TLS, unauthenticated, on a listener with AUTH: refused too', async (t) => {
    const disconnect = nextDisconnect('127.0.0.2');
    const dialog = await session(t, submission, '127.0.0.2', { tls: true });
    await dialog.write(`${ENVELOPE('user@victim.test')}DATA\r\n${text('early inside TLS')}.\r\n`);
    t.equal(await dialog.reply(), '250 2.1.0 Ok\r\n');
    t.equal(await dialog.reply(), '250 2.1.5 Ok\r\n');
    await refused(t, dialog, disconnect, '127.0.0.2', { commands: 'ehlo=2 starttls=1 mail=1 rcpt=1 data=0/1 commands=5/6' });
  });

  await t.test('legitimate PIPELINING from that client: MAIL, RCPT and DATA in one write, the text after the 354', async (t) => {
    const dialog = await session(t, smtp, '127.0.0.2');
    await dialog.write(`${ENVELOPE('user@victim.test')}DATA\r\n`);
    t.equal(await dialog.reply(), '250 2.1.0 Ok\r\n');
    t.equal(await dialog.reply(), '250 2.1.5 Ok\r\n');
    t.match(await dialog.reply(), /^354 /);
    await dialog.write(`${text('pipelined as RFC 2920 allows')}.\r\n`);
    t.match(await dialog.reply(), /^250 2\.0\.0 Ok: queued as /);
    dialog.close();
    await sink.received(++delivered);
    t.match(sink.messages[delivered - 1]?.data, /\r\nSubject: pipelined as RFC 2920 allows\r\n/);
  });

  await t.test('a client whose connector relays: its early text is taken, queued and delivered', async (t) => {
    const dialog = await session(t, smtp, '127.0.0.1');
    const logged = relay.waitForNextLog((line) => line.msg === 'message text sent before 354: accepted, the client may relay', 'the early text logged');
    await dialog.write(`${ENVELOPE('someone@elsewhere.test')}DATA\r\n${text('early from the relaying connector')}.\r\n`);
    t.equal(await dialog.reply(), '250 2.1.0 Ok\r\n');
    t.equal(await dialog.reply(), '250 2.1.5 Ok\r\n', 'relayed to any domain');
    await accepted(t, dialog, 'early from the relaying connector');
    t.match(await logged, { client: '127.0.0.1', connector: 'local' });
  });

  await t.test('an authenticated client that may not relay by its address: the same', async (t) => {
    const dialog = await session(t, submission, '127.0.0.2', { tls: true, auth: true });
    await dialog.write(`${ENVELOPE('someone@elsewhere.test')}DATA\r\n${text('early from an authenticated client')}.\r\n`);
    t.equal(await dialog.reply(), '250 2.1.0 Ok\r\n');
    t.equal(await dialog.reply(), '250 2.1.5 Ok\r\n');
    await accepted(t, dialog, 'early from an authenticated client');
  });

  /** The RCPT lines the next hop got with each message, in order (it takes one command at a time). */
  const recipientsOf = (message: number): string[] => {
    const transactions: string[][] = [];
    for (const { line } of sink.commands) {
      if (line.startsWith('MAIL ')) transactions.push([]);
      else if (line.startsWith('RCPT ')) transactions.at(-1)?.push(line);
    }
    return transactions[message] ?? [];
  };

  await t.test('routing from a client that may not relay: refused at RCPT, the plain mailbox accepted', async (t) => {
    const dialog = await session(t, smtp, '127.0.0.2');
    t.teardown(() => dialog.close());
    t.equal(await dialog.command('MAIL FROM:<a@client.test>'), '250 2.1.0 Ok\r\n');
    for (const address of ROUTED) t.equal(await dialog.command(`RCPT TO:<${address}>`), '550 5.7.1 Relaying denied\r\n', address);
    t.equal(await dialog.command('RCPT TO:<@a.test,@b.test:user@victim.test>'), '250 2.1.5 Ok\r\n', 'a source route is dropped, the mailbox behind it accepted');
    t.equal(await dialog.command('RCPT TO:<other@victim.test>'), '250 2.1.5 Ok\r\n');
    t.match(await dialog.command('DATA'), /^354 /);
    t.match(await dialog.command('Subject: routing\r\n\r\nbody\r\n.'), /^250 2\.0\.0 Ok: queued as /);
    for (const address of ROUTED) {
      const refused = await relay.waitForLog((line) => line.msg === 'recipient refused' && line.to === address, `the refusal of ${address}`);
      t.match(refused, { client: '127.0.0.2', connector: null, code: 550, response: '5.7.1 Relaying denied' }, `${address} logged`);
    }
    await sink.received(++delivered);
    t.same(recipientsOf(delivered - 1), ['RCPT TO:<user@victim.test>', 'RCPT TO:<other@victim.test>'], 'only the accepted mailboxes reach the next hop');
  });

  await t.test('routing from a client that may relay: accepted and passed on unchanged', async (t) => {
    const dialog = await session(t, smtp, '127.0.0.1');
    t.teardown(() => dialog.close());
    await dialog.command('MAIL FROM:<a@client.test>');
    for (const address of ROUTED) t.equal(await dialog.command(`RCPT TO:<${address}>`), '250 2.1.5 Ok\r\n', address);
    t.match(await dialog.command('DATA'), /^354 /);
    t.match(await dialog.command('Subject: routing\r\n\r\nbody\r\n.'), /^250 2\.0\.0 Ok: queued as /);
    await sink.received(++delivered);
    t.same(recipientsOf(delivered - 1), ROUTED.map((address) => `RCPT TO:<${address}>`));
  });

  t.equal(sink.messages.length, delivered, 'no refused message reached the next hop');
});
