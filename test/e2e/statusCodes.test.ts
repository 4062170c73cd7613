// Enhanced status codes (RFC 2034, RFC 3463) through the real relay: EHLO advertises them,
// MAIL, RCPT and AUTH succeed in Postfix's words, and every reply the relay sends — its
// own refusals and smtp-server's replies alike — carries exactly one code, of the reply's
// own class, never a doubled `550 5.1.1 5.7.1`. The greeting, EHLO and the 3xx
// intermediate replies carry none, as RFC 2034 §3 has it.
import t, { type Test } from 'tap';
import { openDialog, type SmtpDialog } from '../helpers/smtpDialog.js';
import { authPlain, startSubmissionRelay, SUBMISSION_PASSWORD as PASSWORD, SUBMISSION_USER as USER } from '../helpers/submissionRelay.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A reply whose every line is `ddd`, a space or hyphen, one status code whose class is the reply's first digit, and text. */
const ONE_CODE = /^(?:(\d)\d\d[ -]\1\.\d{1,3}\.\d{1,3} (?!\d\.\d{1,3}\.\d{1,3}(?: |\r))[^\r\n]*\r\n)+$/;

/** Sends each command and checks the reply, exactly (a string) or by pattern; every reply but a 3xx must have one code. */
async function exchange(t: Test, dialog: SmtpDialog, steps: Array<[string, string | RegExp]>): Promise<void> {
  for (const [command, expected] of steps) {
    const reply = await dialog.command(command);
    if (typeof expected === 'string') t.equal(reply, `${expected}\r\n`, command);
    else t.match(reply, expected, command);
    if (!reply.startsWith('3')) t.match(reply, ONE_CODE, `${command}: one enhanced status code`);
  }
}

t.test('enhanced status codes', async (t) => {
  const { smtp, submission } = await startSubmissionRelay(
    t,
    'required',
    `smtp: { maxRecipients: 2, maxMessageSize: 100000, maxMessagesPerConnection: 1 }
acceptedDomains: [victim.test]
inbound: [{ name: partner, match: { senderDomains: [partner.test] }, require: { tls: true } }]
outbound: [{ name: nowhere, domains: ["*"], smartHosts: ["127.0.0.1:9"], tls: none }]
`,
  );

  await t.test('a transaction, its refusals and smtp-server\'s own replies', async (t) => {
    const dialog = await openDialog(smtp, { localAddress: '127.0.0.2' });
    t.teardown(() => dialog.close());
    t.match(dialog.greeting, /^220 relay\.test ESMTP tlsrelay\r\n$/, 'the greeting has no code');
    const ehlo = await dialog.command('EHLO client.test');
    t.match(ehlo, /^250-ENHANCEDSTATUSCODES\r\n/m, 'EHLO advertises ENHANCEDSTATUSCODES');
    t.notMatch(ehlo, /^250[ -]\d\.\d/m, 'and EHLO itself carries no code');
    await exchange(t, dialog, [
      ['NOOP', '250 2.0.0 OK'],
      ['HELP', /^214 2\.0\.0 /],
      ['VRFY user@victim.test', /^252 2\.1\.5 /],
      ['FOO', '500 5.5.2 Error: command not recognized'],
      ['RCPT TO:<user@victim.test>', '503 5.5.1 Error: need MAIL command'],
      ['MAIL FROM:bad', '501 5.1.7 Error: Bad sender address syntax'],
      ['MAIL FROM:<a@client.test> SIZE=200000', '552 5.3.4 Message size exceeds fixed maximum message size'],
      ['MAIL FROM:<a@partner.test>', '530 5.7.0 Must issue a STARTTLS command first'],
      ['MAIL FROM:<jörg@client.test>', '553 5.6.7 Must declare SMTPUTF8 to send unicode address'],
      ['MAIL FROM:<a@client.test>', '250 2.1.0 Ok'],
      ['MAIL FROM:<a@client.test>', '503 5.5.1 Error: nested MAIL command'],
      ['DATA', '503 5.5.1 Error: need RCPT command'],
      ['RCPT TO:<someone@elsewhere.test>', '550 5.7.1 Relaying denied'],
      ['RCPT TO:<user%evil.test@victim.test>', '550 5.7.1 Relaying denied'],
      ['RCPT TO:<bad', '501 5.1.3 Error: Bad recipient address syntax'],
      ['RCPT TO:<one@victim.test>', '250 2.1.5 Ok'],
      ['RCPT TO:<two@victim.test>', '250 2.1.5 Ok'],
      ['RCPT TO:<three@victim.test>', '452 4.5.3 Error: too many recipients'],
      ['DATA', /^354 End data with <CR><LF>\.<CR><LF>\r\n$/],
      ['Subject: x\r\n\r\nnul \0 byte\r\n.', '550 5.5.2 Error: NUL character received'],
      ['RSET', '250 2.0.0 Flushed'],
      ['MAIL FROM:<a@client.test>', '250 2.1.0 Ok'],
      ['RCPT TO:<one@victim.test>', '250 2.1.5 Ok'],
      ['DATA', /^354 /],
      ['Subject: x\r\n\r\nfine\r\n.', /^250 2\.0\.0 Ok: queued as \S+\r\n$/],
      ['MAIL FROM:<a@client.test>', '421 4.7.0 Too many messages in this session, try again later'],
    ]);
  });

  await t.test('STARTTLS, AUTH and the replies of a listener that requires it', async (t) => {
    const dialog = await openDialog(submission, { localAddress: '127.0.0.2' });
    t.teardown(() => dialog.close());
    await dialog.command('EHLO client.test');
    await exchange(t, dialog, [
      ['MAIL FROM:<a@client.test>', '530 5.7.0 Must issue a STARTTLS command first'],
      ['AUTH PLAIN', /^5\d\d 5\.\d\.\d /],
    ]);
    t.equal(await dialog.startTls(), '220 2.0.0 Ready to start TLS\r\n');
    await dialog.command('EHLO client.test');
    await exchange(t, dialog, [
      ['MAIL FROM:<a@client.test>', '530 5.7.0 Authentication required'],
      ['AUTH CRAM-MD5', /^504 5\.5\.4 /],
      [`AUTH PLAIN ${authPlain(USER, 'wrong')}`, '535 5.7.8 Authentication credentials invalid'],
      ['AUTH LOGIN', '334 VXNlcm5hbWU6'],
      [b64(USER), '334 UGFzc3dvcmQ6'],
      [b64(PASSWORD), '235 2.7.0 Authentication successful'],
      ['MAIL FROM:<a@client.test>', '250 2.1.0 Ok'],
      ['RCPT TO:<someone@elsewhere.test>', '250 2.1.5 Ok'],
      ['QUIT', '221 2.0.0 Bye'],
    ]);
  });
});
