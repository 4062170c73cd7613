import t from 'tap';
import { decodeEnvelope, encodeEnvelope } from '../../src/queue/envelopeCodec.js';
import type { Envelope } from '../../src/queue/types.js';

const good: Envelope = {
  id: '019ac9a0b5c0aabbccddeeff',
  receivedAt: '2025-11-28T10:00:00.000Z',
  from: '',
  recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'pending', notify: ['FAILURE'], orcpt: 'rfc822;bob@b.test', lastError: '451 later' }],
  size: 10,
  nextAttemptAt: '2025-11-28T10:01:00.000Z',
  attempts: [
    {
      at: '2025-11-28T10:00:01.000Z',
      domain: 'b.test',
      connector: 'partner',
      tlsLevel: 'verify',
      host: 'mx.b.test',
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      verdict: 'verified',
      outcome: 'deferred',
      code: 451,
      response: '451 later',
      requireTls: 'not-advertised',
    },
  ],
  ret: 'FULL',
  envid: 'x',
  delayNoticeSent: false,
  deferrals: 1,
  body: '8BITMIME',
  smtputf8: true,
  content: { header: '8bit', body: '7bit' },
  requireTls: true,
};

t.test('an envelope survives encoding', async (t) => {
  t.same(decodeEnvelope(encodeEnvelope(good), good.id), { ok: true, envelope: good });
});

t.test('every damaged field is named', async (t) => {
  const attempt = good.attempts[0];
  const recipient = good.recipients[0];
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an object', [1], /^not an object$/],
    ['bad id', { ...good, id: '../x' }, /^id is not a queue ID$/],
    ['bad time', { ...good, receivedAt: 'yesterday' }, /^receivedAt is not a time$/],
    ['missing from', { ...good, from: undefined }, /^from is not a string$/],
    ['no recipients', { ...good, recipients: [] }, /^recipients is not a non-empty list$/],
    ['recipient not an object', { ...good, recipients: ['bob'] }, /^recipients\[0\] is not an object$/],
    ['empty address', { ...good, recipients: [{ ...recipient, address: '' }] }, /^recipients\[0\] address/],
    ['numeric domain', { ...good, recipients: [{ ...recipient, domain: 1 }] }, /^recipients\[0\] domain/],
    ['unknown state', { ...good, recipients: [{ ...recipient, state: 'sent' }] }, /^recipients\[0\] state is not one of/],
    ['bad lastError', { ...good, recipients: [{ ...recipient, lastError: 4 }] }, /lastError/],
    ['bad notify', { ...good, recipients: [{ ...recipient, notify: 'NEVER' }] }, /notify is not a list of strings/],
    ['bad orcpt', { ...good, recipients: [{ ...recipient, orcpt: {} }] }, /orcpt/],
    ['negative size', { ...good, size: -1 }, /^size is not a byte count$/],
    ['bad next attempt', { ...good, nextAttemptAt: null }, /^nextAttemptAt/],
    ['attempts not a list', { ...good, attempts: {} }, /^attempts is not a list$/],
    ['attempt not an object', { ...good, attempts: [null] }, /^attempts\[0\] is not an object$/],
    ['attempt time', { ...good, attempts: [{ ...attempt, at: 'x' }] }, /^attempts\[0\] at is not a time$/],
    ['attempt connector', { ...good, attempts: [{ ...attempt, connector: null }] }, /^attempts\[0\] connector is not a string$/],
    ['attempt host', { ...good, attempts: [{ ...attempt, host: 3 }] }, /host is not a string or null/],
    ['attempt tls', { ...good, attempts: [{ ...attempt, tls: { protocol: 'TLSv1.3' } }] }, /tls is not/],
    ['attempt verdict', { ...good, attempts: [{ ...attempt, verdict: 'fine' }] }, /verdict is not one of/],
    ['attempt outcome', { ...good, attempts: [{ ...attempt, outcome: 'sent' }] }, /outcome is not one of/],
    ['attempt code', { ...good, attempts: [{ ...attempt, code: '451' }] }, /code is not an integer/],
    ['bad ret', { ...good, ret: 'ALL' }, /^ret is not FULL or HDRS$/],
    ['bad envid', { ...good, envid: 1 }, /^envid/],
    ['bad delay notice', { ...good, delayNoticeSent: 'no' }, /^delayNoticeSent/],
    ['bad deferrals', { ...good, deferrals: 1.5 }, /^deferrals is not a count$/],
    ['bad body', { ...good, body: 'BINARYMIME' }, /^body is not one of 7BIT, 8BITMIME$/],
    ['lower-case body', { ...good, body: '8bitmime' }, /^body is not one of/],
    ['smtputf8 false', { ...good, smtputf8: false }, /^smtputf8 is not true$/],
    ['content not an object', { ...good, content: '8bit' }, /^content is not \{header, body\}/],
    ['content without body', { ...good, content: { header: '7bit' } }, /^content is not/],
    ['content with a bad value', { ...good, content: { header: 'utf8', body: '7bit' } }, /^content is not/],
    ['requireTls false', { ...good, requireTls: false }, /^requireTls is not true$/],
    ['attempt requireTls', { ...good, attempts: [{ ...attempt, requireTls: 'skipped' }] }, /^attempts\[0\] requireTls is not one of met, no-tls, not-authenticated, not-advertised, no-session$/],
  ];
  for (const [name, value, problem] of cases) {
    const decoded = decodeEnvelope(JSON.stringify(value));
    t.equal(decoded.ok, false, name);
    if (!decoded.ok) t.match(decoded.problem, problem, name);
  }
});

t.test('host and tls may be null, optional fields absent', async (t) => {
  const minimal = {
    ...good,
    attempts: [{ ...good.attempts[0], host: null, tls: null }],
    recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'pending' }],
    ret: undefined,
    envid: undefined,
    delayNoticeSent: undefined,
    deferrals: undefined,
  };
  t.equal(decodeEnvelope(JSON.stringify(minimal)).ok, true);
});

t.test('an envelope written before BODY=, SMTPUTF8, the content and REQUIRETLS were kept still loads', async (t) => {
  // as the relay wrote them until then, field for field
  const older = `{
  "id": "019ac9a0b5c0aabbccddeeff",
  "receivedAt": "2025-11-28T10:00:00.000Z",
  "from": "alice@a.test",
  "recipients": [{ "address": "bob@b.test", "domain": "b.test", "state": "pending" }],
  "size": 120,
  "nextAttemptAt": "2025-11-28T10:00:00.000Z",
  "attempts": [],
  "deferrals": 0
}`;
  const decoded = decodeEnvelope(older, '019ac9a0b5c0aabbccddeeff');
  t.equal(decoded.ok, true);
  if (!decoded.ok) return;
  t.equal(decoded.envelope.body, undefined);
  t.equal(decoded.envelope.smtputf8, undefined);
  t.equal(decoded.envelope.content, undefined, 'its content stays unknown');
  t.equal(decoded.envelope.requireTls, undefined, 'it did not ask for REQUIRETLS');
});

t.test('an attempt written before REQUIRETLS was honoured still loads', async (t) => {
  const { requireTls: _, ...older } = good.attempts[0]!;
  const decoded = decodeEnvelope(JSON.stringify({ ...good, attempts: [older] }));
  t.equal(decoded.ok, true);
});

t.test('truncated JSON and a mismatched ID are reported', async (t) => {
  const truncated = decodeEnvelope(encodeEnvelope(good).slice(0, 50));
  t.match(truncated, { ok: false, problem: /^not JSON: / });
  const renamed = decodeEnvelope(encodeEnvelope(good), '0000000000000000000000aa');
  t.match(renamed, { ok: false, problem: /does not match its file name 0000000000000000000000aa/ });
});
