import t from 'tap';
import { outgoingDsn, rcptDsnParameters, xtext } from '../../src/outbound/dsnParameters.js';
import type { Envelope } from '../../src/queue/types.js';

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: '019ac9a0b5c0aabbccddeeff',
    receivedAt: '2025-11-28T10:00:00.000Z',
    from: 'a@x.test',
    recipients: [{ address: 'b@y.test', domain: 'y.test', state: 'pending' }],
    size: 100,
    nextAttemptAt: '2025-11-28T10:00:00.000Z',
    attempts: [],
    ...overrides,
  };
}

t.test('what of DSN a message carries on', async (t) => {
  t.equal(outgoingDsn(envelope()), undefined, 'a client that used no DSN: nothing');
  const full = outgoingDsn(
    envelope({
      ret: 'HDRS',
      envid: 'abc',
      recipients: [
        { address: 'b@y.test', domain: 'y.test', state: 'pending', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b@y.test' },
        { address: 'c@y.test', domain: 'y.test', state: 'pending', notify: [] },
        { address: 'd@z.test', domain: 'z.test', state: 'pending', orcpt: 'rfc822;D@z.test' },
      ],
    }),
  );
  t.same(full, {
    ret: 'HDRS',
    envid: 'abc',
    recipients: new Map([
      ['b@y.test', { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b@y.test' }],
      ['d@z.test', { orcpt: 'rfc822;D@z.test' }],
    ]),
  });
  t.same(outgoingDsn(envelope({ envid: '' })), { envid: '', recipients: new Map() }, 'an ENVID is passed on whatever it is');
  t.same(outgoingDsn(envelope({ recipients: [{ address: 'b@y.test', domain: 'y.test', state: 'pending', notify: ['NEVER'] }] })), {
    recipients: new Map([['b@y.test', { notify: ['NEVER'] }]]),
  });
});

t.test('RCPT TO parameters, as the client gave them and no others', async (t) => {
  const cases: Array<[Parameters<typeof rcptDsnParameters>[0], string]> = [
    [undefined, ''],
    [{}, ''],
    [{ notify: [] }, ''],
    [{ notify: ['SUCCESS', 'FAILURE'] }, ' NOTIFY=SUCCESS,FAILURE'],
    [{ notify: ['never'] }, ' NOTIFY=NEVER'],
    [{ orcpt: 'rfc822;b@y.test' }, ' ORCPT=rfc822;b@y.test'],
    [{ notify: ['DELAY'], orcpt: 'rfc822;b+tag@y.test' }, ' NOTIFY=DELAY ORCPT=rfc822;b+2Btag@y.test'],
    [{ orcpt: 'b@y.test' }, ' ORCPT=rfc822;b@y.test'],
    [{ orcpt: 'utf-8;a;b' }, ' ORCPT=utf-8;a;b'],
  ];
  for (const [dsn, expected] of cases) t.equal(rcptDsnParameters(dsn), expected, JSON.stringify(dsn));
});

t.test('xtext', async (t) => {
  const cases: Array<[string, string]> = [
    ['plain@y.test', 'plain@y.test'],
    ['a+b=c', 'a+2Bb+3Dc'],
    ['two words', 'two+20words'],
    ['tab\there', 'tab+09here'],
    ['~!', '~!'],
    ['del\x7f', 'del+7F'],
    // smtp-server turned "+C3+BC" into these two characters: the same bytes go back
    ['j\u00c3\u00bcrgen', 'j+C3+BCrgen'],
    // beyond one byte only from a client that sent raw UTF-8: its UTF-8 bytes
    ['\u4e2d', '+E4+B8+AD'],
  ];
  for (const [value, encoded] of cases) t.equal(xtext(value), encoded, JSON.stringify(value));
});
