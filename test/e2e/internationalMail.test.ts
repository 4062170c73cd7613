// 8BITMIME, SMTPUTF8 and long lines through the real relay, from raw SMTP dialogs to
// next hops that record every byte: one that lists both extensions, one that lists
// neither, and the sender's own next hop, where the bounces arrive. (Next hops that
// list only one of them: test/outbound/mailExtensions.test.ts.)
import t, { type Test } from 'tap';
import { startRawSink, type RawMessage, type RawSink } from '../helpers/rawSink.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

const both = await startRawSink({ extensions: ['8BITMIME', 'SMTPUTF8'] });
const neither = await startRawSink();
const senders = await startRawSink({ extensions: ['8BITMIME', 'SMTPUTF8'] });
t.teardown(() => Promise.all([both, neither, senders].map((sink) => sink.close())));

const relay = startRelay(
  writeConfig(
    t.testdir(),
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: both, domains: [both.test], smartHosts: ["127.0.0.1:${both.port}"], tls: none }
  - { name: neither, domains: [neither.test, victim.test, bücher.test], smartHosts: ["127.0.0.1:${neither.port}"], tls: none }
  - { name: senders, domains: [client.test], smartHosts: ["127.0.0.1:${senders.port}"], tls: none }
`,
  ),
);
t.teardown(() => relay.stop());
const port = await relay.port();

/** One transaction on a fresh connection: the replies to MAIL, to each RCPT and (when a recipient was taken) to the data. */
async function transaction(mailFrom: string | Buffer, rcptTo: Array<string | Buffer>, data?: Buffer): Promise<string[]> {
  const dialog = await openDialog(port);
  const line = async (command: string | Buffer): Promise<string> => {
    await dialog.write(Buffer.concat([Buffer.from(command), Buffer.from('\r\n')]));
    return (await dialog.reply()).trimEnd();
  };
  try {
    await dialog.command('EHLO client.test');
    const replies = [await line(mailFrom)];
    for (const rcpt of rcptTo) replies.push(await line(rcpt));
    if (data !== undefined && replies.slice(1).some((reply) => reply.startsWith('250'))) {
      await dialog.command('DATA');
      replies.push(await line(Buffer.concat([data, Buffer.from('.')])));
    }
    await dialog.command('QUIT');
    return replies;
  } finally {
    dialog.close();
  }
}

/** The queue ID in the reply to the data. */
const queueIdOf = (replies: string[]): string => /queued as (\w+)$/.exec(replies.at(-1) ?? '')?.[1] ?? 'none';

/** Resolves once the message has had a delivery attempt for each of `domains` (a bounce is one too). */
async function attempted(queueId: string, domains: string[]): Promise<void> {
  for (const domain of domains) {
    await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === queueId && line.domain === domain, `${queueId} tried for ${domain}`);
  }
}

/** Resolves with the bounce of the message once it has been delivered to the sender's next hop. */
async function bounceDelivered(queueId: string): Promise<void> {
  const queued = await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === queueId, `the bounce of ${queueId}`);
  await attempted(String(queued.bounceId), ['client.test']);
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const bytes = (message: RawMessage | undefined): Buffer => Buffer.from(message?.data ?? '', 'latin1');
const decoded = (text: string | undefined): string => Buffer.from(text ?? '', 'latin1').toString('utf8');
const rcptLines = (sink: RawSink): string[] => sink.commands.filter((command) => command.line.startsWith('RCPT ')).map((command) => decoded(command.line));

/** The message as it left the client, behind the one Received header the relay adds and nothing else. */
function arrivedUnchanged(t: Test, message: RawMessage | undefined, sent: Buffer, what: string): void {
  const got = bytes(message);
  t.ok(got.subarray(got.length - sent.length).equals(sent), `${what}: every byte as the client sent it`);
  t.match(got.subarray(0, got.length - sent.length).toString('latin1'), /^Received: [^\r\n]*(?:\r\n\t[^\r\n]*)*\r\n$/, `${what}: behind the relay's Received header`);
}

const MUST_DECLARE = '553 5.6.7 Must declare SMTPUTF8 to send unicode address';
const PLAIN = utf8(`Subject: plain\r\n\r\n${'x'.repeat(998)}\r\nplain\r\n`);

t.test('without SMTPUTF8, an address that is not ASCII gets 553 5.6.7; one in A-labels goes on as it came', async (t) => {
  const replies = await transaction('MAIL FROM:<a@client.test>', ['RCPT TO:<user@ｖｉｃｔｉｍ.test>', 'RCPT TO:<jörg@neither.test>', 'RCPT TO:<user@xn--bcher-kva.test>'], PLAIN);
  t.match(replies, ['250 2.1.0 Ok', MUST_DECLARE, MUST_DECLARE, '250 2.1.5 Ok', /^250 2\.0\.0 Ok: queued as /]);
  t.same(await transaction('MAIL FROM:<jörg@client.test>', []), [MUST_DECLARE], 'a sender too');
  const logged = await relay.waitForLog((line) => line.msg === 'sender refused: address not in ASCII', 'the refused sender logged');
  t.match(logged, { from: 'jörg@client.test', code: 553, response: MUST_DECLARE.slice(4) });
  await attempted(queueIdOf(replies), ['xn--bcher-kva.test']);
  t.same(rcptLines(neither), ['RCPT TO:<user@xn--bcher-kva.test>'], 'the A-label recipient, in A-labels');
  t.equal(neither.messages[0]?.mail, 'MAIL FROM:<a@client.test>', 'no SMTPUTF8, no BODY=');
  arrivedUnchanged(t, neither.messages[0], PLAIN, 'a line of 998 octets');
});

t.test('with SMTPUTF8, a Unicode domain goes on in A-labels, and needs no SMTPUTF8 there', async (t) => {
  const replies = await transaction('MAIL FROM:<a@client.test> SMTPUTF8 BODY=8BITMIME', ['RCPT TO:<user@ｖｉｃｔｉｍ.test>'], utf8('Subject: plain\r\n\r\nplain\r\n'));
  t.match(replies, ['250 2.1.0 Ok', '250 2.1.5 Ok', /^250 2\.0\.0 Ok: queued as /]);
  await attempted(queueIdOf(replies), ['victim.test']);
  t.same(rcptLines(neither).slice(1), ['RCPT TO:<user@victim.test>']);
  t.equal(neither.messages[1]?.mail, 'MAIL FROM:<a@client.test>', 'declared, but all 7-bit ASCII: neither extension is named to a next hop without them');
});

t.test('an address that is not UTF-8 gets 553 5.6.7 even with SMTPUTF8', async (t) => {
  const latin1 = Buffer.concat([Buffer.from('RCPT TO:<j'), Buffer.from([0xf6]), Buffer.from('rg@both.test>')]);
  t.same(await transaction('MAIL FROM:<a@client.test> SMTPUTF8', [latin1]), ['250 2.1.0 Ok', '553 5.6.7 Malformed UTF-8 in address']);
});

t.test('a line of 999 octets is refused at DATA with 550 5.5.2', async (t) => {
  const long = utf8(`Subject: long\r\n\r\n${'x'.repeat(999)}\r\n`);
  t.same((await transaction('MAIL FROM:<a@client.test>', ['RCPT TO:<long@both.test>'], long)).at(-1), '550 5.5.2 Error: message line longer than 1000 octets, CRLF included (RFC 5321 4.5.3.1.6)');
});

t.test('8-bit and UTF-8 mail: passed on with BODY=8BITMIME and SMTPUTF8 where offered, bounced with 5.6.3 and 5.6.7 where not', async (t) => {
  const eightBit = utf8('Subject: Gruss\r\n\r\nGrüße aus Zürich\r\n');
  const international = utf8('From: Jörg <a@client.test>\r\nSubject: Grüße\r\n\r\nplain\r\n');
  const before = { both: both.messages.length, senders: senders.messages.length };
  // one after the other, so that they arrive in this order
  for (const [mailFrom, rcptTo, data] of [
    ['MAIL FROM:<a@client.test> BODY=8BITMIME', ['RCPT TO:<b@both.test>', 'RCPT TO:<n@neither.test>'], eightBit],
    ['MAIL FROM:<a@client.test> SMTPUTF8', ['RCPT TO:<b2@both.test>', 'RCPT TO:<n2@neither.test>'], international],
  ] as const) {
    const replies = await transaction(mailFrom, [...rcptTo], data);
    t.match(replies, [/^250/, /^250/, /^250/, /^250 2\.0\.0 Ok: queued as /]);
    await attempted(queueIdOf(replies), ['both.test', 'neither.test']);
    await bounceDelivered(queueIdOf(replies));
  }

  const [first, second] = both.messages.slice(before.both);
  t.equal(first?.mail, 'MAIL FROM:<a@client.test> BODY=8BITMIME', 'the 8-bit body is announced');
  arrivedUnchanged(t, first, eightBit, 'the 8-bit message');
  t.equal(second?.mail, 'MAIL FROM:<a@client.test> SMTPUTF8', 'the UTF-8 header is announced (nodemailer alone would not: its addresses are ASCII)');
  arrivedUnchanged(t, second, international, 'the UTF-8 message');
  t.notOk(rcptLines(neither).some((line) => /<n2?@neither\.test>/.test(line)), 'the next hop without the extensions got neither message');

  const bounces = senders.messages.slice(before.senders).map((message) => decoded(message.data));
  const bounceOf = (recipient: string): string | undefined => bounces.find((text) => text.includes(`Final-Recipient: rfc822; ${recipient}\r\n`));
  t.match(bounceOf('n@neither.test'), /\r\nAction: failed\r\nStatus: 5\.6\.3\r\n[\s\S]*Diagnostic-Code: smtp; 550 5\.6\.3 8BITMIME is required, but was not offered by host 127\.0\.0\.1\r\n/);
  t.match(bounceOf('n2@neither.test'), /\r\nAction: failed\r\nStatus: 5\.6\.7\r\n[\s\S]*Diagnostic-Code: smtp; 550 5\.6\.7 SMTPUTF8 is required, but was not offered by host 127\.0\.0\.1\r\n/);
  // the second bounce returns headers with UTF-8 in them: the spool saw it, and says so on
  const mails = senders.messages.slice(before.senders).map((message) => ({ mail: message.mail, international: decoded(message.data).includes('Subject: Grüße') }));
  t.same(mails.find((mail) => mail.international)?.mail, 'MAIL FROM:<> BODY=8BITMIME', 'a bounce that returns 8-bit headers is itself sent as 8BITMIME');
  t.same(mails.find((mail) => !mail.international)?.mail, 'MAIL FROM:<>', 'one that returns 7-bit headers is not');
});
