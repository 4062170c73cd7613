import t from 'tap';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { newMessage, withAsciiDomain } from '../../src/inbound/newMessage.js';

t.test('domains go to the spool in A-labels, local parts as they are', async (t) => {
  const cases: Array<[string, string]> = [
    ['user@contoso.test', 'user@contoso.test'],
    ['user@bücher.test', 'user@xn--bcher-kva.test'],
    ['user@ｖｉｃｔｉｍ.test', 'user@victim.test'],
    ['jörg@contoso.test', 'jörg@contoso.test'],
    ['jörg@bücher.test', 'jörg@xn--bcher-kva.test'],
    ['postmaster', 'postmaster'],
  ];
  for (const [given, queued] of cases) t.equal(withAsciiDomain(given), queued, given);
});

function address(text: string, args: SMTPServerAddress['args'] = false): SMTPServerAddress {
  return { address: text, args };
}

function envelope(fields: Partial<SMTPServerSession['envelope']>): SMTPServerSession['envelope'] {
  return { mailFrom: address('a@client.test'), rcptTo: [address('b@dest.test')], ...fields } as SMTPServerSession['envelope'];
}

t.test('BODY=, SMTPUTF8 and REQUIRETLS as the client gave them at MAIL FROM', async (t) => {
  const cases: Array<[string, SMTPServerAddress['args'], Record<string, unknown>]> = [
    ['no parameters', false, {}],
    ['BODY=8BITMIME', { BODY: '8BITMIME' }, { body: '8BITMIME' }],
    ['BODY=8bitmime (case does not matter)', { BODY: '8bitmime' }, { body: '8BITMIME' }],
    ['BODY=7BIT', { BODY: '7BIT' }, { body: '7BIT' }],
    ['SMTPUTF8', { SMTPUTF8: true }, { smtputf8: true }],
    ['both', { BODY: '8BITMIME', SMTPUTF8: true }, { body: '8BITMIME', smtputf8: true }],
    ['REQUIRETLS', { REQUIRETLS: true }, { requireTls: true }],
  ];
  for (const [name, args, expected] of cases) {
    const message = newMessage(envelope({ mailFrom: address('a@client.test', args) }));
    t.same({ body: message.body, smtputf8: message.smtputf8, requireTls: message.requireTls }, { body: undefined, smtputf8: undefined, requireTls: undefined, ...expected }, name);
  }
  t.equal(newMessage(envelope({ mailFrom: false })).from, '', 'no MAIL FROM at all: the null sender');
});

t.test('two spellings of one recipient are one recipient', async (t) => {
  const message = newMessage(
    envelope({
      mailFrom: address('jörg@bücher.test', { SMTPUTF8: true }),
      rcptTo: [address('user@ｖｉｃｔｉｍ.test'), address('User@victim.test'), address('other@bücher.test')],
    }),
  );
  t.equal(message.from, 'jörg@xn--bcher-kva.test');
  t.same(message.recipients, [
    { address: 'user@victim.test', domain: 'victim.test' },
    { address: 'other@xn--bcher-kva.test', domain: 'xn--bcher-kva.test' },
  ]);
});
