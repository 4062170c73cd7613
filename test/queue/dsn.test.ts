import { Readable } from 'node:stream';
import t from 'tap';
import { buildDsn, remoteMtaName, type DsnOptions } from '../../src/queue/dsn.js';
import { FULL_RETURN_LIMIT, HEADER_LIMIT } from '../../src/queue/returnedContent.js';
import type { BouncedRecipient, DelayedRecipient, DsnReport, Envelope, NoticeRecipient } from '../../src/queue/types.js';

const now = new Date('2025-11-28T12:00:00.000Z');
const originalHeaders = 'Received: from a.test by relay.test\r\nFrom: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: quarterly report\r\n';
const originalBody = 'SECRET BODY LINE\r\n';
const original = () => Readable.from([Buffer.from(originalHeaders + '\r\n' + originalBody)]);

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: '019ac9a0b5c0aabbccddeeff',
    receivedAt: '2025-11-26T12:00:00.000Z',
    from: 'alice@a.test',
    recipients: [
      { address: 'bob@b.test', domain: 'b.test', state: 'bounced', orcpt: 'rfc822;Bob@B.test' },
      { address: 'carol@c.test', domain: 'c.test', state: 'bounced' },
      { address: 'dave@d.test', domain: 'd.test', state: 'delivered' },
    ],
    size: 1000,
    nextAttemptAt: '2025-11-28T12:00:00.000Z',
    attempts: [],
    envid: 'QQ314159',
    ...overrides,
  };
}

const bob: BouncedRecipient = {
  address: 'bob@b.test',
  reason: 'rejected',
  status: '5.1.1',
  diagnostic: '550 5.1.1 <bob@b.test>: user unknown',
  lastAttemptAt: '2025-11-28T11:59:00.000Z',
  remoteMta: 'mx.b.test[192.0.2.25]:25',
  attempts: 1,
};
const carol: BouncedRecipient = {
  address: 'carol@c.test',
  reason: 'expired',
  status: '5.7.4',
  diagnostic: '450 4.7.4 TLS is required, but was not offered by host mx.c.test',
  lastAttemptAt: '2025-11-28T11:58:00.000Z',
  remoteMta: 'mx.c.test[2001:db8::25]:2525',
  attempts: 9,
};
const options = (source: Readable = original()): DsnOptions => ({ reportingMta: 'relay.test', now, original: source });
const failedDsn = (env: Envelope, failed: BouncedRecipient[], opts: DsnOptions) => buildDsn(env, { action: 'failed', recipients: failed }, opts);

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Just enough RFC 5322 / MIME to check the report: unfolded headers, body, multipart split. */
function parseEntity(text: string): Part {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: split < 0 ? '' : text.slice(split + 4) };
}

function parts(message: Part): Part[] {
  const boundary = /boundary="([^"]+)"/.exec(message.headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error('no boundary');
  // Every delimiter is CRLF--boundary; the first one may start the body without the CRLF.
  const [, ...chunks] = ('\r\n' + message.body).split(`\r\n--${boundary}`);
  t.equal(chunks.pop(), '--\r\n', 'the multipart is closed');
  return chunks.map((chunk) => parseEntity(chunk.replace(/^\r\n/, '')));
}

/** message/delivery-status: blocks of fields separated by blank lines. */
function statusBlocks(body: string): Array<Map<string, string>> {
  return body
    .trim()
    .split('\r\n\r\n')
    .map((block) => parseEntity(block + '\r\n\r\n').headers);
}

async function bounceText(env: Envelope, failed: BouncedRecipient[], source?: Readable): Promise<{ text: string; message: Part }> {
  const bounce = await failedDsn(env, failed, options(source));
  if (!bounce) throw new Error('expected a bounce');
  const text = bounce.data.toString('utf8');
  return { text, message: parseEntity(text) };
}

t.test('a multipart/report with the notification, the status and the headers', async (t) => {
  const bounce = await failedDsn(envelope(), [bob, carol], options());
  if (!bounce) throw new Error('expected a bounce');
  t.same(bounce.message, { from: '', recipients: [{ address: 'alice@a.test', domain: 'a.test' }] }, 'null sender, back to the sender');
  const text = bounce.data.toString('utf8');
  t.notMatch(text, /[^\r]\n|\r[^\n]/, 'CRLF line endings only');

  const message = parseEntity(text);
  const h = message.headers;
  t.equal(h.get('from'), 'Mail Delivery System <MAILER-DAEMON@relay.test>');
  t.equal(h.get('to'), '<alice@a.test>');
  t.equal(h.get('subject'), 'Undelivered Mail Returned to Sender');
  t.equal(h.get('date'), 'Fri, 28 Nov 2025 12:00:00 +0000');
  t.match(h.get('message-id'), /^<019ac9a0b5c0aabbccddeeff\.[0-9a-f]{12}@relay\.test>$/);
  t.equal(h.get('auto-submitted'), 'auto-replied');
  t.equal(h.get('mime-version'), '1.0');
  t.match(h.get('content-type'), /^multipart\/report; report-type=delivery-status; boundary="[^"]+"$/);

  const [human, status, returned, ...extra] = parts(message);
  t.same(extra, [], 'three parts');
  t.match(human.headers.get('content-type'), /^text\/plain; charset=utf-8$/);
  t.match(human.body, /<bob@b\.test>: host mx\.b\.test\[192\.0\.2\.25\]:25 said: 550 5\.1\.1 <bob@b\.test>: user unknown/);
  t.match(human.body, /<carol@c\.test>: delivery kept failing and was given up after 9 attempts; the last error was: host mx\.c\.test\[2001:db8::25\]:2525 said: 450 4\.7\.4/);
  t.notMatch(human.body, /dave/, 'a delivered recipient is not reported');

  t.equal(status.headers.get('content-type'), 'message/delivery-status');
  const [perMessage, bobFields, carolFields, ...more] = statusBlocks(status.body);
  t.same(more, [], 'one block per failed recipient');
  t.same(Object.fromEntries(perMessage), {
    'reporting-mta': 'dns; relay.test',
    'original-envelope-id': 'QQ314159',
    'arrival-date': 'Wed, 26 Nov 2025 12:00:00 +0000',
  });
  t.same(Object.fromEntries(bobFields), {
    'final-recipient': 'rfc822; bob@b.test',
    'original-recipient': 'rfc822; Bob@B.test',
    action: 'failed',
    status: '5.1.1',
    'remote-mta': 'dns; mx.b.test',
    'diagnostic-code': 'smtp; 550 5.1.1 <bob@b.test>: user unknown',
    'last-attempt-date': 'Fri, 28 Nov 2025 11:59:00 +0000',
  });
  t.same(Object.fromEntries(carolFields), {
    'final-recipient': 'rfc822; carol@c.test',
    action: 'failed',
    status: '5.7.4',
    'remote-mta': 'dns; mx.c.test',
    'diagnostic-code': 'smtp; 450 4.7.4 TLS is required, but was not offered by host mx.c.test',
    'last-attempt-date': 'Fri, 28 Nov 2025 11:58:00 +0000',
  });

  t.equal(returned.headers.get('content-type'), 'text/rfc822-headers');
  t.equal(returned.body.trimEnd(), originalHeaders.trimEnd(), 'the original headers, and only them');
  t.notMatch(text, /SECRET BODY/);
});

t.test('the null sender never gets a bounce', async (t) => {
  const source = original();
  t.equal(await failedDsn(envelope({ from: '' }), [bob], options(source)), undefined);
  t.ok(source.destroyed, 'the original is released');
});

t.test('NOTIFY decides who is reported', async (t) => {
  const withNotify = (bobNotify: string[] | undefined, carolNotify: string[] | undefined) =>
    envelope({
      recipients: [
        { address: 'bob@b.test', domain: 'b.test', state: 'bounced', notify: bobNotify },
        { address: 'carol@c.test', domain: 'c.test', state: 'bounced', notify: carolNotify },
      ],
    });
  t.equal(await failedDsn(withNotify(['NEVER'], ['SUCCESS', 'DELAY']), [bob, carol], options()), undefined, 'nobody wants it');
  const { message } = await bounceText(withNotify(['NEVER'], ['delay', 'failure']), [bob, carol]);
  const [human, status] = parts(message);
  t.notMatch(human.body, /bob@b\.test/);
  t.match(human.body, /carol@c\.test/);
  t.same(
    statusBlocks(status.body)
      .slice(1)
      .map((fields) => fields.get('final-recipient')),
    ['rfc822; carol@c.test'],
  );
});

t.test('RET=HDRS reads only up to the blank line and releases the stream', async (t) => {
  let produced = 0;
  const source = Readable.from(
    (function* () {
      yield Buffer.from(originalHeaders);
      yield Buffer.from('\r\n');
      for (; produced < 10_000; produced++) yield Buffer.from(originalBody);
    })(),
    { objectMode: false, highWaterMark: 16 },
  );
  const { message } = await bounceText(envelope({ ret: 'HDRS' }), [bob], source);
  const returned = parts(message)[2];
  t.equal(returned.headers.get('content-type'), 'text/rfc822-headers');
  t.equal(returned.body.trimEnd(), originalHeaders.trimEnd());
  t.ok(source.destroyed, 'the stream is destroyed');
  t.ok(produced < 100, `the body was not read (${produced} lines produced)`);
});

t.test('RET=FULL returns the whole message', async (t) => {
  const { message } = await bounceText(envelope({ ret: 'FULL' }), [bob]);
  const [human, , returned] = parts(message);
  t.equal(returned.headers.get('content-type'), 'message/rfc822');
  t.equal(returned.headers.get('content-transfer-encoding'), '7bit');
  t.equal(returned.body + '\r\n', originalHeaders + '\r\n' + originalBody, 'the CRLF before the boundary belongs to the delimiter');
  const inner = parseEntity(returned.body);
  t.equal(inner.headers.get('subject'), 'quarterly report');
  t.match(human.body, /Your message is attached\./);
});

t.test('a REQUIRETLS message bounces with its headers only, RET=FULL or not, and the bounce is no REQUIRETLS message', async (t) => {
  for (const ret of ['FULL', 'HDRS', undefined] as const) {
    const bounce = await failedDsn(envelope({ requireTls: true, ...(ret ? { ret } : {}) }), [bob], options());
    if (!bounce) throw new Error('expected a bounce');
    const text = bounce.data.toString('utf8');
    const [human, , returned] = parts(parseEntity(text));
    t.equal(returned.headers.get('content-type'), 'text/rfc822-headers', `RET=${ret ?? 'none'}: headers`);
    t.equal(returned.body.trimEnd(), originalHeaders.trimEnd(), `RET=${ret ?? 'none'}: all of them, up to the blank line`);
    t.notMatch(text, /SECRET BODY LINE/, `RET=${ret ?? 'none'}: nothing of the body`);
    t.match(human.body, /its body is not, because you sent it with REQUIRETLS and this notice travels without it/);
    t.equal(bounce.message.requireTls, undefined, 'the bounce itself does not ask for REQUIRETLS');
  }
});

t.test('RET=FULL of a message over the limit returns its headers', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const source = Readable.from(
    (function* () {
      yield Buffer.from(originalHeaders + '\r\n');
      for (let sent = 0; sent <= FULL_RETURN_LIMIT; sent += chunk.length) yield chunk;
    })(),
  );
  const { message } = await bounceText(envelope({ ret: 'FULL' }), [bob], source);
  const [human, , returned] = parts(message);
  t.equal(returned.headers.get('content-type'), 'text/rfc822-headers');
  t.equal(returned.body.trimEnd(), originalHeaders.trimEnd());
  t.match(human.body, /too big to return in full; its headers are attached/);
});

t.test('a message that is all header is returned whole, an endless header is cut at a line end', async (t) => {
  const headerOnly = await bounceText(envelope(), [bob], Readable.from([Buffer.from('Subject: no body\r\nX-Last: yes')]));
  t.equal(parts(headerOnly.message)[2].body + '\r\n', 'Subject: no body\r\nX-Last: yes\r\n');

  const line = `X-Filler: ${'f'.repeat(989)}\r\n`;
  const endless = Readable.from(
    (function* () {
      for (let sent = 0; sent < 2 * HEADER_LIMIT; sent += line.length) yield Buffer.from(line);
    })(),
  );
  const cut = await bounceText(envelope(), [bob], endless);
  const returned = parts(cut.message)[2].body + '\r\n';
  t.ok(returned.length <= HEADER_LIMIT, `at most ${HEADER_LIMIT} bytes of header (${returned.length})`);
  t.ok(returned.length > HEADER_LIMIT - line.length, 'as much as fits');
  t.match(returned, /^(X-Filler: f{989}\r\n)+$/, 'whole lines only');
  t.ok(endless.destroyed);
});

t.test('an unreadable original still gives a bounce, saying so', async (t) => {
  const source = new Readable({
    read() {
      this.destroy(Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' }));
    },
  });
  const { message } = await bounceText(envelope(), [bob], source);
  const all = parts(message);
  t.equal(all.length, 2, 'notification and status only');
  t.match(all[0].body, /could not be read to attach it: ENOENT/);
});

t.test('bare line feeds in the original become CRLF, 8-bit bytes survive', async (t) => {
  const bytes = Buffer.concat([Buffer.from('Subject: caf'), Buffer.from([0xe9]), Buffer.from('\nX-Other: 1\n\nbody\n')]);
  const bounce = await failedDsn(envelope(), [bob], options(Readable.from([bytes])));
  if (!bounce) throw new Error('expected a bounce');
  t.ok(bounce.data.includes(Buffer.concat([Buffer.from('Subject: caf'), Buffer.from([0xe9]), Buffer.from('\r\nX-Other: 1\r\n')])));
  t.ok(bounce.data.includes('Content-Transfer-Encoding: 8bit'), 'declared 8-bit');
  t.notOk(bounce.data.includes('body'), 'no body');
});

t.test('values from the envelope cannot inject headers or fields', async (t) => {
  const evil: BouncedRecipient = { ...bob, diagnostic: '550 5.1.1 no\r\nBcc: victim@x.test\r\n\r\nAction: delivered' };
  const { message } = await bounceText(envelope(), [evil]);
  const [, status] = parts(message);
  const blocks = statusBlocks(status.body);
  t.equal(blocks.length, 2);
  t.equal(blocks[1].get('action'), 'failed');
  t.equal(blocks[1].get('diagnostic-code'), 'smtp; 550 5.1.1 no Bcc: victim@x.test Action: delivered');
  t.equal(message.headers.get('bcc'), undefined);
});

t.test('a local reason is not labelled as an SMTP reply', async (t) => {
  const local: BouncedRecipient = { ...bob, diagnostic: '5.4.4 Host not found: b.test has no MX or address', remoteMta: undefined };
  const { message } = await bounceText(envelope(), [local]);
  const fields = statusBlocks(parts(message)[1].body)[1];
  t.equal(fields.get('diagnostic-code'), 'X-tlsrelay; 5.4.4 Host not found: b.test has no MX or address');
  t.equal(fields.get('remote-mta'), undefined);
});

t.test('a non-ASCII recipient makes a global delivery status', async (t) => {
  const env = envelope({ recipients: [{ address: 'jürgen@b.test', domain: 'b.test', state: 'bounced' }] });
  const { message } = await bounceText(env, [{ ...bob, address: 'jürgen@b.test' }]);
  const [human, status] = parts(message);
  t.equal(status.headers.get('content-type'), 'message/global-delivery-status');
  t.equal(statusBlocks(status.body)[1].get('final-recipient'), 'utf-8; jürgen@b.test');
  t.equal(human.headers.get('content-transfer-encoding'), '8bit');
});

t.test('a report to a sender whose address is not ASCII is SMTPUTF8 mail; to others it is not', async (t) => {
  const international = await failedDsn(envelope({ from: 'jörg@a.test' }), [bob], options());
  t.equal(international?.message.smtputf8, true);
  t.same(international?.message.recipients, [{ address: 'jörg@a.test', domain: 'a.test' }]);
  const plain = await failedDsn(envelope(), [bob], options());
  t.equal(plain?.message.smtputf8, undefined);
});

t.test('a sender without a domain is a clear error', async (t) => {
  await t.rejects(failedDsn(envelope({ from: 'postmaster' }), [bob], options()), /cannot return a DSN for 019ac9a0b5c0aabbccddeeff to "postmaster": the sender has no valid domain/);
});

const delayedBob: DelayedRecipient = {
  address: 'bob@b.test',
  status: '4.7.5',
  diagnostic: '451 4.7.5 Cannot start TLS: handshake failure',
  lastAttemptAt: '2025-11-28T11:59:00.000Z',
  remoteMta: 'mx.b.test',
  willRetryUntil: '2025-11-28T12:00:00.000Z',
};
const relayedBob: NoticeRecipient = {
  address: 'bob@b.test',
  status: '2.0.0',
  diagnostic: '250 2.0.0 Ok: queued as 4Qx9',
  lastAttemptAt: '2025-11-28T11:59:00.000Z',
  remoteMta: 'mx.b.test',
};

async function reportText(env: Envelope, report: DsnReport): Promise<Part> {
  const dsn = await buildDsn(env, report, options());
  if (!dsn) throw new Error('expected a DSN');
  return parseEntity(dsn.data.toString('utf8'));
}

t.test('a delay notice: the same report, Action delayed, until when the relay keeps trying, headers only', async (t) => {
  const message = await reportText(envelope({ ret: 'FULL' }), { action: 'delayed', recipients: [delayedBob] });
  t.equal(message.headers.get('subject'), 'Delayed Mail (still being retried)');
  t.match(message.headers.get('content-type'), /^multipart\/report; report-type=delivery-status;/);
  const [human, status, returned, ...extra] = parts(message);
  t.same(extra, []);
  t.match(human.body, /has not been delivered yet/);
  t.match(human.body, '<bob@b.test>: host mx.b.test said: 451 4.7.5 Cannot start TLS: handshake failure; the relay keeps trying until Fri, 28 Nov 2025 12:00:00 +0000');
  const [perMessage, bobFields, ...more] = statusBlocks(status.body);
  t.same(more, []);
  t.equal(perMessage.get('original-envelope-id'), 'QQ314159');
  t.same(Object.fromEntries(bobFields), {
    'final-recipient': 'rfc822; bob@b.test',
    'original-recipient': 'rfc822; Bob@B.test',
    action: 'delayed',
    status: '4.7.5',
    'remote-mta': 'dns; mx.b.test',
    'diagnostic-code': 'smtp; 451 4.7.5 Cannot start TLS: handshake failure',
    'last-attempt-date': 'Fri, 28 Nov 2025 11:59:00 +0000',
    'will-retry-until': 'Fri, 28 Nov 2025 12:00:00 +0000',
  });
  t.equal(returned.headers.get('content-type'), 'text/rfc822-headers', 'RET=FULL is for failures only');
  t.equal(returned.headers.get('content-description'), 'Undelivered Message Headers');
  t.equal(returned.body.trimEnd(), originalHeaders.trimEnd());
});

t.test('a relayed notice: Action relayed with the next hop\'s 250, headers only', async (t) => {
  const env = envelope({ ret: 'FULL', recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'delivered', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;bob@b.test' }] });
  const message = await reportText(env, { action: 'relayed', recipients: [relayedBob] });
  t.equal(message.headers.get('subject'), 'Successful Mail Delivery Report');
  const [human, status, returned] = parts(message);
  t.match(human.body, /does not report delivery/);
  t.match(human.body, '<bob@b.test>: host mx.b.test said: 250 2.0.0 Ok: queued as 4Qx9');
  t.same(Object.fromEntries(statusBlocks(status.body)[1]!), {
    'final-recipient': 'rfc822; bob@b.test',
    'original-recipient': 'rfc822; bob@b.test',
    action: 'relayed',
    status: '2.0.0',
    'remote-mta': 'dns; mx.b.test',
    'diagnostic-code': 'smtp; 250 2.0.0 Ok: queued as 4Qx9',
    'last-attempt-date': 'Fri, 28 Nov 2025 11:59:00 +0000',
  });
  t.equal(returned.headers.get('content-type'), 'text/rfc822-headers');
  t.equal(returned.headers.get('content-description'), 'Message Headers');
});

t.test('NOTIFY decides each kind of notice; the null sender gets none', async (t) => {
  const withNotify = (notify: string[] | undefined, from = 'alice@a.test') => envelope({ from, recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'pending', notify }] });
  const cases: Array<[string, string[] | undefined, DsnReport, boolean]> = [
    ['no NOTIFY: delays are reported', undefined, { action: 'delayed', recipients: [delayedBob] }, true],
    ['NOTIFY=DELAY', ['DELAY'], { action: 'delayed', recipients: [delayedBob] }, true],
    ['NOTIFY=FAILURE: no delay notice', ['FAILURE'], { action: 'delayed', recipients: [delayedBob] }, false],
    ['NOTIFY=NEVER: no delay notice', ['NEVER'], { action: 'delayed', recipients: [delayedBob] }, false],
    ['no NOTIFY: no relayed notice', undefined, { action: 'relayed', recipients: [relayedBob] }, false],
    ['NOTIFY=SUCCESS', ['SUCCESS'], { action: 'relayed', recipients: [relayedBob] }, true],
    ['NOTIFY=FAILURE,DELAY: no relayed notice', ['FAILURE', 'DELAY'], { action: 'relayed', recipients: [relayedBob] }, false],
  ];
  for (const [what, notify, report, sent] of cases) {
    const source = original();
    const dsn = await buildDsn(withNotify(notify), report, options(source));
    t.equal(dsn !== undefined, sent, what);
    t.ok(source.destroyed, `${what}: the original is released`);
    t.equal(await buildDsn(withNotify(notify, ''), report, options()), undefined, `${what}: never to the null sender`);
  }
});

t.test('Remote-MTA names the host, without address or port (RFC 3464 §2.3.5)', async (t) => {
  const cases: Array<[string, string]> = [
    ['mx.b.test[192.0.2.1]:25', 'mx.b.test'],
    ['mx.b.test[2001:db8::1]:2525', 'mx.b.test'],
    ['192.0.2.1:2626', '192.0.2.1'],
    ['[2001:db8::1]:25', '2001:db8::1'],
    ['mx.b.test:25', 'mx.b.test'],
    ['mx.b.test', 'mx.b.test'],
  ];
  for (const [host, name] of cases) t.equal(remoteMtaName(host), name, host);
});
