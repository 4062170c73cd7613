import { Readable } from 'node:stream';
import t from 'tap';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import { extensionNeeds, mailParameters, type ExtensionNeeds, type OfferedExtensions } from '../../src/outbound/mailExtensions.js';
import type { MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import type { Envelope } from '../../src/queue/types.js';
import { startRawSink, type RawSink } from '../helpers/rawSink.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';

function envelope(fields: Partial<Envelope>): Envelope {
  return {
    id: '019ac9a0b5c0aabbccddeeff',
    receivedAt: '2026-01-05T10:00:00.000Z',
    from: 'a@sender.test',
    recipients: [{ address: 'b@dest.test', domain: 'dest.test', state: 'pending' }],
    size: 100,
    nextAttemptAt: '2026-01-05T10:00:00.000Z',
    attempts: [],
    content: { header: '7bit', body: '7bit' },
    ...fields,
  };
}

t.test('what a message needs', async (t) => {
  const cases: Array<[string, Partial<Envelope>, string[], ExtensionNeeds]> = [
    ['all ASCII, nothing declared', {}, ['b@dest.test'], { smtputf8: 'none', eightBitMime: 'none' }],
    ['both declared, all 7-bit', { body: '8BITMIME', smtputf8: true }, ['b@dest.test'], { smtputf8: 'declared', eightBitMime: 'declared' }],
    ['BODY=7BIT declared', { body: '7BIT' }, ['b@dest.test'], { smtputf8: 'none', eightBitMime: 'none' }],
    ['8-bit body, BODY=8BITMIME', { body: '8BITMIME', content: { header: '7bit', body: '8bit' } }, ['b@dest.test'], { smtputf8: 'none', eightBitMime: 'required' }],
    ['8-bit body, no BODY= given', { content: { header: '7bit', body: '8bit' } }, ['b@dest.test'], { smtputf8: 'none', eightBitMime: 'required' }],
    ['UTF-8 header under SMTPUTF8', { smtputf8: true, content: { header: '8bit', body: '7bit' } }, ['b@dest.test'], { smtputf8: 'required', eightBitMime: 'none' }],
    ['8-bit header without SMTPUTF8 (legacy)', { content: { header: '8bit', body: '7bit' } }, ['b@dest.test'], { smtputf8: 'none', eightBitMime: 'required' }],
    ['UTF-8 recipient', { smtputf8: true }, ['jörg@dest.test'], { smtputf8: 'required', eightBitMime: 'none' }],
    ['UTF-8 sender', { smtputf8: true, from: 'jörg@sender.test' }, ['b@dest.test'], { smtputf8: 'required', eightBitMime: 'none' }],
    // the transaction carries only this domain's recipients
    ['UTF-8 recipient of another domain', { smtputf8: true, recipients: [{ address: 'jörg@other.test', domain: 'other.test', state: 'pending' }] }, ['b@dest.test'], { smtputf8: 'declared', eightBitMime: 'none' }],
    ['an envelope from before the content was kept', { content: undefined }, ['b@dest.test'], { smtputf8: 'none', eightBitMime: 'none' }],
    ['an old envelope with a UTF-8 address', { content: undefined }, ['jörg@dest.test'], { smtputf8: 'required', eightBitMime: 'none' }],
  ];
  for (const [name, fields, recipients, needs] of cases) t.same(extensionNeeds(envelope(fields), recipients), needs, name);
});

const BOTH: OfferedExtensions = { smtputf8: true, eightBitMime: true };
const NEITHER: OfferedExtensions = { smtputf8: false, eightBitMime: false };
const EIGHT_BIT_ONLY: OfferedExtensions = { smtputf8: false, eightBitMime: true };
const UTF8_ONLY: OfferedExtensions = { smtputf8: true, eightBitMime: false };

t.test('what goes on MAIL FROM, or why nothing does', async (t) => {
  const utf8 = '550 5.6.7 SMTPUTF8 is required, but was not offered by host mx.test[192.0.2.1]';
  const eight = '550 5.6.3 8BITMIME is required, but was not offered by host mx.test[192.0.2.1]';
  const send = (smtputf8: boolean, eightBitMime: boolean) => ({ kind: 'send', smtputf8, eightBitMime });
  const refused = (response: string) => ({ kind: 'refused', result: { outcome: 'bounced', code: 550, response } });
  const cases: Array<[ExtensionNeeds, OfferedExtensions, unknown]> = [
    [{ smtputf8: 'none', eightBitMime: 'none' }, BOTH, send(false, false)],
    [{ smtputf8: 'declared', eightBitMime: 'declared' }, BOTH, send(true, true)],
    [{ smtputf8: 'declared', eightBitMime: 'declared' }, NEITHER, send(false, false)],
    [{ smtputf8: 'declared', eightBitMime: 'declared' }, EIGHT_BIT_ONLY, send(false, true)],
    [{ smtputf8: 'required', eightBitMime: 'required' }, BOTH, send(true, true)],
    [{ smtputf8: 'required', eightBitMime: 'none' }, UTF8_ONLY, send(true, false)],
    [{ smtputf8: 'required', eightBitMime: 'none' }, EIGHT_BIT_ONLY, refused(utf8)],
    [{ smtputf8: 'none', eightBitMime: 'required' }, UTF8_ONLY, refused(eight)],
    [{ smtputf8: 'none', eightBitMime: 'required' }, EIGHT_BIT_ONLY, send(false, true)],
    // SMTPUTF8 is judged first
    [{ smtputf8: 'required', eightBitMime: 'required' }, NEITHER, refused(utf8)],
  ];
  for (const [needs, offered, expected] of cases) t.same(mailParameters(needs, offered, 'mx.test[192.0.2.1]'), expected, `${JSON.stringify(needs)} to ${JSON.stringify(offered)}`);
});

// Through the real client to next hops that list both extensions, neither, or one: the
// MAIL FROM and RCPT TO lines and the bytes that arrive.

interface Kind {
  name: string;
  fields: Partial<Envelope>;
  recipient: string;
  data: string;
}

const KINDS: Kind[] = [
  { name: 'ascii', fields: {}, recipient: 'ascii@dest.test', data: 'Subject: plain\r\n\r\nplain\r\n' },
  { name: 'declared', fields: { body: '8BITMIME', smtputf8: true }, recipient: 'declared@dest.test', data: 'Subject: plain\r\n\r\nplain\r\n' },
  { name: '8bit-body', fields: { body: '8BITMIME', content: { header: '7bit', body: '8bit' } }, recipient: 'body@dest.test', data: 'Subject: Gruss\r\n\r\nGrüße aus Zürich\r\n' },
  { name: 'utf8-header', fields: { smtputf8: true, content: { header: '8bit', body: '7bit' } }, recipient: 'header@dest.test', data: 'Subject: Grüße\r\n\r\nplain\r\n' },
  { name: 'utf8-address', fields: { smtputf8: true }, recipient: 'jörg@dest.test', data: 'Subject: plain\r\n\r\nplain\r\n' },
];

function outgoing(kind: Kind): OutgoingMessage {
  const bytes = Buffer.from(kind.data, 'utf8');
  const env = envelope({ ...kind.fields, recipients: [{ address: kind.recipient, domain: 'dest.test', state: 'pending' }] });
  return { queueId: kind.name, from: env.from, recipients: [kind.recipient], size: bytes.length, extensions: extensionNeeds(env, [kind.recipient]), openData: () => Readable.from([bytes]) };
}

async function deliverTo(sink: RawSink): Promise<Map<string, MessageResult>> {
  const config = testConfig({ outbound: [testConnector({ name: 'dest', domains: ['dest.test'], smartHosts: [{ host: '127.0.0.1', port: sink.port }], tls: 'none' })] });
  const { ctx } = testDeliveryContext(config);
  const results = await deliverDomain('dest.test', KINDS.map(outgoing), ctx);
  ctx.sessions.closeAll();
  return new Map(results.map((result) => [result.queueId, result]));
}

/** What the sink saw of one message: its MAIL FROM line, its RCPT TO line and its data, each decoded as UTF-8. */
function arrived(sink: RawSink, recipient: string): { mail: string; rcpt: string; data: string } | undefined {
  const decode = (text: string | undefined): string => Buffer.from(text ?? '', 'latin1').toString('utf8');
  const index = sink.commands.findIndex((command) => decode(command.line) === `RCPT TO:<${recipient}>`);
  if (index < 0) return undefined;
  // one recipient per message, every one taken: the n-th MAIL FROM began the n-th message
  const mails = sink.commands.slice(0, index).filter((command) => command.line.startsWith('MAIL '));
  return { mail: decode(mails.at(-1)?.line), rcpt: decode(sink.commands[index]?.line), data: decode(sink.messages[mails.length - 1]?.data) };
}

const HOPS: Array<[string, string[], Record<string, string | RegExp>]> = [
  [
    'a next hop with both',
    ['8BITMIME', 'SMTPUTF8'],
    {
      ascii: 'MAIL FROM:<a@sender.test>',
      declared: 'MAIL FROM:<a@sender.test> BODY=8BITMIME SMTPUTF8',
      '8bit-body': 'MAIL FROM:<a@sender.test> BODY=8BITMIME',
      'utf8-header': 'MAIL FROM:<a@sender.test> SMTPUTF8',
      'utf8-address': 'MAIL FROM:<a@sender.test> SMTPUTF8',
    },
  ],
  [
    'a next hop with neither',
    [],
    {
      ascii: 'MAIL FROM:<a@sender.test>',
      declared: 'MAIL FROM:<a@sender.test>',
      '8bit-body': /^550 5\.6\.3 8BITMIME is required, but was not offered by host 127\.0\.0\.1$/,
      'utf8-header': /^550 5\.6\.7 SMTPUTF8 is required, but was not offered by host 127\.0\.0\.1$/,
      'utf8-address': /^550 5\.6\.7 SMTPUTF8 is required/,
    },
  ],
  [
    'a next hop with 8BITMIME only',
    ['8BITMIME'],
    {
      ascii: 'MAIL FROM:<a@sender.test>',
      declared: 'MAIL FROM:<a@sender.test> BODY=8BITMIME',
      '8bit-body': 'MAIL FROM:<a@sender.test> BODY=8BITMIME',
      'utf8-header': /^550 5\.6\.7 SMTPUTF8 is required/,
      'utf8-address': /^550 5\.6\.7 SMTPUTF8 is required/,
    },
  ],
  [
    'a next hop with SMTPUTF8 only',
    ['SMTPUTF8'],
    {
      ascii: 'MAIL FROM:<a@sender.test>',
      declared: 'MAIL FROM:<a@sender.test> SMTPUTF8',
      '8bit-body': /^550 5\.6\.3 8BITMIME is required/,
      'utf8-header': 'MAIL FROM:<a@sender.test> SMTPUTF8',
      'utf8-address': 'MAIL FROM:<a@sender.test> SMTPUTF8',
    },
  ],
];

for (const [name, extensions, expected] of HOPS) {
  t.test(name, async (t) => {
    const sink = await startRawSink({ extensions });
    t.teardown(() => sink.close());
    const results = await deliverTo(sink);
    for (const kind of KINDS) {
      const want = expected[kind.name];
      const result = results.get(kind.name);
      const seen = arrived(sink, kind.recipient);
      if (typeof want === 'string') {
        t.match(result?.recipients, [{ outcome: 'delivered' }], `${kind.name}: delivered`);
        t.equal(seen?.mail, want, `${kind.name}: MAIL FROM`);
        t.equal(seen?.rcpt, `RCPT TO:<${kind.recipient}>`, `${kind.name}: RCPT TO in UTF-8 as it is`);
        t.equal(seen?.data, kind.data, `${kind.name}: the bytes arrive unchanged`);
      } else {
        t.match(result?.recipients, [{ outcome: 'bounced', code: 550, response: want }], `${kind.name}: bounced`);
        t.match(result?.attempts, [{ outcome: 'bounced', response: want }], `${kind.name}: the attempt says why`);
        t.equal(seen, undefined, `${kind.name}: no MAIL FROM or RCPT TO for it`);
      }
    }
    t.equal(sink.transcripts.length, 1, 'one connection carried them all');
  });
}
