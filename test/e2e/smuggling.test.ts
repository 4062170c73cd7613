// SMTP smuggling through the real relay: data with bare CR or LF is refused with
// Postfix's reply (or repaired with smtp.bareLineEndings: normalize), a NUL is refused in
// both modes, the relay keeps running, and the next hop — a raw-byte sink, so that no SMTP
// library tidies up what the relay sent — never sees a bare line ending or a second message.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { QUEUE_DEFAULTS } from '../../src/config/defaults.js';
import { bytesOf, openQueueStore } from '../helpers/queueStores.js';
import { startRawSink } from '../helpers/rawSink.js';
import { startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { sendOneMessage } from '../helpers/smtpDialog.js';

interface Payload {
  name: string;
  /** Body text in front of the sequence; empty: the sequence is in the header, after an X-Case line. */
  before: string;
  sequence: string;
  after: string;
}

const SMUGGLED = 'MAIL FROM:<evil@attacker.test>\r\nsmuggled\r\n';
const endOfData = (name: string, sequence: string): Payload => ({ name, before: 'first', sequence, after: SMUGGLED });

const payloads: Payload[] = [
  endOfData('<LF>.<LF>', '\n.\n'),
  endOfData('<CR><LF>.<LF>', '\r\n.\n'),
  endOfData('<LF>.<CR><LF>', '\n.\r\n'),
  endOfData('<CR>.<CR>', '\r.\r'),
  endOfData('<CR><LF>.<CR>', '\r\n.\r'),
  endOfData('<CR>.<CR><LF>', '\r.\r\n'),
  endOfData('NUL next to the dot', '\r\n\x00.\r\n'),
  { name: 'bare LF in a header', before: '', sequence: '\n', after: 'Bcc: x@y.test\r\n\r\nbody\r\n' },
];

interface Attempt {
  subject: string;
  payload: Payload;
  data: string;
  /** Where the client splits its two writes: inside the sequence. */
  cut: number;
}

// Each payload split at every point inside its sequence; a one-byte sequence has no
// inside, so it is split on either side of it.
const attempts: Attempt[] = payloads.flatMap((payload) => {
  const { sequence } = payload;
  const inner = sequence.length > 1 ? Array.from({ length: sequence.length - 1 }, (_, i) => i + 1) : [0, 1];
  return inner.map((offset) => {
    const subject = `${payload.name}, split at ${offset}`;
    const head = `Subject: ${subject}\r\n${payload.before ? `\r\n${payload.before}` : 'X-Case: header'}`;
    return { subject, payload, data: `${head}${sequence}${payload.after}`, cut: head.length + offset };
  });
});

const isNul = (payload: Payload): boolean => payload.sequence.includes('\x00');
const BARE = /(?<!\r)\n|\r(?!\n)/;

async function startRelayFor(t: Test, mode: 'reject' | 'normalize', sinkPort: number): Promise<{ relay: RelayProcess; port: number; spool: string }> {
  const dir = t.testdir();
  const relay = startRelay(
    writeConfig(
      dir,
      `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
smtp: { bareLineEndings: ${mode} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sinkPort}"], tls: none }]
`,
    ),
  );
  t.teardown(() => relay.stop());
  return { relay, port: await relay.port(), spool: join(dir, 'spool') };
}

/** One DATA from a fresh connection, in two writes split at `cut`; resolves with the reply to the final dot. */
function attempt(port: number, data: string, cut: number): Promise<string> {
  return sendOneMessage(port, [data.slice(0, cut), data.slice(cut)]);
}

const count = (relay: RelayProcess, msg: string): number => relay.logs.filter((line) => line.msg === msg).length;

/** Once the relay has logged `n` delivery attempts, every line it logged before them has been read too. */
async function deliveries(relay: RelayProcess, n: number): Promise<void> {
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && count(relay, 'delivery attempt') >= n, `${n} delivery attempts`);
}

t.test('bareLineEndings: reject — every sequence gets 550 5.5.2 and nothing reaches the next hop', async (t) => {
  const sink = await startRawSink();
  t.teardown(() => sink.close());
  const { relay, port } = await startRelayFor(t, 'reject', sink.port);
  for (const { subject, payload, data, cut } of attempts) {
    const expected = isNul(payload) ? /^550 5\.5\.2 Error: NUL character received\r\n$/ : /^550 5\.5\.2 Error: bare <CR> or <LF> received\r\n$/;
    t.match(await attempt(port, data, cut), expected, `${subject}: refused`);
  }
  // a clean message behind them: once it has arrived, anything queued before it would have been accepted too
  t.match(await attempt(port, 'Subject: clean\r\n\r\nbody\r\n', 9), /^250 /, 'a clean message is accepted');
  await sink.received(1);
  await deliveries(relay, 1);
  t.equal(count(relay, 'message accepted'), 1, 'the relay queued only the clean message');
  t.equal(sink.messages.length, 1, 'the next hop received one message');
  t.match(sink.messages[0]?.data, /^Received: [\s\S]*\r\nSubject: clean\r\n\r\nbody\r\n$/, 'and it is the clean one');
  t.equal(relay.child.exitCode, null, 'the relay is still running');
});

t.test('bareLineEndings: normalize — the spool and the next hop get CRLF only, one message per DATA', async (t) => {
  // The relay's SMTP client (nodemailer) turns bare CR and LF into CRLF on the way out
  // too, so the next hop's bytes alone would not show what the guard let through: the
  // sink defers each message, which keeps it in the spool for the test to read.
  const sink = await startRawSink({ afterData: '451 4.3.0 Try again later' });
  t.teardown(() => sink.close());
  const { relay, port, spool } = await startRelayFor(t, 'normalize', sink.port);
  const repaired = attempts.filter(({ payload }) => !isNul(payload));
  for (const { subject, payload, data, cut } of attempts) {
    const expected = isNul(payload) ? /^550 5\.5\.2 Error: NUL character received\r\n$/ : /^250 /;
    t.match(await attempt(port, data, cut), expected, `${subject}: ${isNul(payload) ? 'refused: a NUL is not a line ending' : 'accepted, repaired'}`);
  }
  await sink.received(repaired.length);
  await deliveries(relay, repaired.length);
  t.equal(count(relay, 'message accepted'), repaired.length, 'the relay queued one message per repaired DATA');
  const ids = relay.logs.filter((line) => line.msg === 'message accepted').map((line) => String(line.queueId));
  // read beside the running relay, from the store it keeps (whichever it is)
  const queue = await openQueueStore(QUEUE_DEFAULTS.store, spool);
  t.teardown(() => queue.close());
  const stored = await Promise.all(ids.map(async (id) => (await bytesOf(queue.openData(id))).toString('latin1')));

  for (const [index, transcript] of sink.transcripts.entries()) {
    t.notMatch(transcript, BARE, `connection ${index + 1}: the next hop received CRLF line endings only, commands and data`);
    t.notMatch(transcript, /\x00/, `connection ${index + 1}: and no NUL`);
  }
  t.equal(sink.messages.length, repaired.length, 'exactly one message per repaired DATA reached the next hop');
  const mails = sink.commands.filter(({ line }) => /^MAIL\b/i.test(line));
  t.equal(mails.length, repaired.length, 'the next hop read one MAIL FROM per message, none smuggled');
  t.notOk(sink.commands.some(({ line }) => /attacker|smuggled/.test(line)), 'no smuggled line was read as a command');
  for (const message of sink.messages) t.match(message.mail, /^MAIL FROM:<a@client\.test>/, 'every message the next hop took is one the client sent');

  for (const { subject, payload } of repaired) {
    const has = (data: string): boolean => data.includes(`\r\nSubject: ${subject}\r\n`);
    // the smuggled "end of data" became a line with a dot: as stored, and dot-stuffed on the wire
    const tail = (dot: string): string => (payload.before ? `\r\nfirst\r\n${dot}\r\n${payload.after}` : `X-Case: header\r\n${payload.after}`);
    const spooled = stored.filter(has);
    t.equal(spooled.length, 1, `${subject}: spooled once`);
    t.notMatch(spooled[0], BARE, `${subject}: the guard let CRLF line endings only into the spool`);
    t.ok(spooled[0]?.endsWith(tail('.')), `${subject}: only the line endings changed`);
    const sent = sink.messages.filter((message) => has(message.data));
    t.equal(sent.length, 1, `${subject}: reached the next hop once`);
    t.ok(sent[0]?.data.endsWith(tail('..')), `${subject}: the would-be second message is body text there`);
  }
  t.equal(relay.child.exitCode, null, 'the relay is still running');
});
