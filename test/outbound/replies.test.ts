// The mapping from a transaction's replies to recipient results, fed with errors shaped
// as nodemailer 10 builds them (see its smtp-connection _formatError / _actionRCPT).
import t from 'tap';
import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import { recipientResults, summarizeResults, suspendedDelivery, unreachable } from '../../src/outbound/replies.js';
import { UNSOLICITED_LINES, type SendResult } from '../../src/outbound/smtpClient.js';

const HOST = 'mx.test[192.0.2.1]';
const RCPTS = ['a@x.test', 'b@x.test'];

function smtpError(fields: Partial<SMTPError> & { message: string }): SMTPError {
  return Object.assign(new Error(fields.message), fields);
}

function rcptRefusal(recipient: string, response: string): SMTPError {
  return smtpError({ message: 'Recipient command failed', code: 'EENVELOPE', command: 'RCPT TO', recipient, response, responseCode: Number(response.slice(0, 3)) });
}

t.test('a refused MAIL FROM applies to every recipient', async (t) => {
  for (const [reply, outcome] of [['550 5.7.1 Sender rejected', 'bounced'], ['451 4.7.1 Greylisted', 'deferred']] as const) {
    const sent: SendResult = {
      kind: 'failed',
      error: smtpError({ message: `Mail command failed: ${reply}`, code: 'EENVELOPE', command: 'MAIL FROM', response: reply, responseCode: Number(reply.slice(0, 3)) }),
      envelope: { accepted: [], rejected: [] },
    };
    t.same(recipientResults(RCPTS, sent, HOST).map((result) => [result.address, result.outcome, result.response]), RCPTS.map((address) => [address, outcome, reply]));
  }
});

t.test('a lost connection defers whoever has no reply, refusals already received stand', async (t) => {
  const sent: SendResult = {
    kind: 'failed',
    error: smtpError({ message: 'Connection closed unexpectedly', code: 'ECONNECTION', command: 'CONN' }),
    envelope: { accepted: ['a@x.test'], rejected: [rcptRefusal('b@x.test', '550 5.1.1 No such user')] },
  };
  t.same(recipientResults(RCPTS, sent, HOST), [
    { address: 'a@x.test', outcome: 'deferred', code: 451, response: `451 4.4.2 lost connection with host ${HOST}: Connection closed unexpectedly` },
    { address: 'b@x.test', outcome: 'bounced', code: 550, response: '550 5.1.1 No such user' },
  ]);
});

t.test('multi-line replies become one line', async (t) => {
  const sent: SendResult = { kind: 'sent', response: '250-first line\n250 2.0.0 queued as X', envelope: { accepted: RCPTS, rejected: [] }, dsn: true };
  t.same(recipientResults(RCPTS, sent, HOST).map((result) => result.response), ['250-first line 250 2.0.0 queued as X', '250-first line 250 2.0.0 queued as X']);
});

t.test('a delivery to a peer without DSN says so, refusals do not', async (t) => {
  const envelope = { accepted: ['a@x.test'], rejected: [rcptRefusal('b@x.test', '550 5.1.1 No such user')] };
  const withoutDsn: SendResult = { kind: 'sent', response: '250 2.0.0 Ok', envelope, dsn: false };
  t.same(recipientResults(RCPTS, withoutDsn, HOST), [
    { address: 'a@x.test', outcome: 'delivered', code: 250, response: '250 2.0.0 Ok', withoutDsn: true },
    { address: 'b@x.test', outcome: 'bounced', code: 550, response: '550 5.1.1 No such user' },
  ]);
  const withDsn: SendResult = { ...withoutDsn, dsn: true };
  t.same(recipientResults(RCPTS, withDsn, HOST)[0], { address: 'a@x.test', outcome: 'delivered', code: 250, response: '250 2.0.0 Ok' }, 'the peer reports from here');
});

t.test('the attempt summary names the recipient that did not get through', async (t) => {
  const delivered = { address: 'a@x.test', outcome: 'delivered', code: 250, response: '250 ok' } as const;
  const bounced = { address: 'b@x.test', outcome: 'bounced', code: 550, response: '550 5.1.1 No such user' } as const;
  t.same(summarizeResults([delivered, { ...delivered, address: 'c@x.test' }]), { outcome: 'delivered', code: 250, response: '250 ok' });
  t.same(summarizeResults([delivered, bounced]), { outcome: 'bounced', code: 550, response: '550 5.1.1 No such user (for b@x.test; 1 of 2 recipients delivered)' });
});

t.test('mail held back from a suspended host says so, in Postfix words, with the host\'s last error', async (t) => {
  const cases: Array<[string, string]> = [
    [`451 4.4.1 connect to ${HOST}: connect ECONNREFUSED 192.0.2.1:25`, `451 4.4.1 delivery temporarily suspended: connect to ${HOST}: connect ECONNREFUSED 192.0.2.1:25`],
    ['450 4.7.5 Cannot start TLS: handshake failure: wrong version number', '450 4.7.5 delivery temporarily suspended: Cannot start TLS: handshake failure: wrong version number'],
    ['421 Service not available', '421 delivery temporarily suspended: Service not available'],
    ['no code at all', '451 delivery temporarily suspended: no code at all'],
  ];
  for (const [lastError, expected] of cases) {
    t.same(suspendedDelivery({ outcome: 'deferred', code: Number(lastError.slice(0, 3)) || 451, response: lastError }), { outcome: 'deferred', code: Number(lastError.slice(0, 3)) || 451, response: expected });
  }
});

t.test('lines a peer sent with its greeting are shown in one line, and not at any length', async (t) => {
  const lines = `250-injected.test\r\n250 ${'x'.repeat(500)}\r\n`;
  const error = smtpError({ message: 'sent lines nobody asked for with its greeting, before EHLO', code: UNSOLICITED_LINES, response: lines });
  const result = unreachable(HOST, error);
  t.match(result, { outcome: 'deferred', code: 451 });
  t.equal(result.response, `451 4.5.0 host ${HOST} sent lines nobody asked for with its greeting, before EHLO: 250-injected.test 250 ${'x'.repeat(178)}; session dropped`);
});
