// The DSN extension through the real relay: a client's NOTIFY, ORCPT, RET and ENVID go on
// to a next hop that advertises DSN; a next hop without DSN makes the relay send the
// "relayed" DSN a NOTIFY=SUCCESS asked for; and a message deferred past queue.delayNotice
// gets one "delayed" DSN, not one per deferral.
import t, { type Test } from 'tap';
import { startSink, type Received, type Sink } from '../helpers/peers.js';
import { startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

const MESSAGE = 'From: a@client.test\r\nTo: b@dsn.test\r\nSubject: with DSN\r\nMessage-ID: <dsn-e2e@client.test>\r\n\r\nSECRET BODY\r\n';

/** Sends one message over a raw dialog, with the DSN parameters as written; resolves with its queue ID. */
async function send(port: number, mailFrom: string, rcptTo: string[]): Promise<string> {
  const dialog = await openDialog(port);
  try {
    await dialog.command('EHLO client.test');
    const mail = await dialog.command(mailFrom);
    if (!mail.startsWith('250')) throw new Error(`MAIL refused: ${mail}`);
    for (const rcpt of rcptTo) {
      const reply = await dialog.command(rcpt);
      if (!reply.startsWith('250')) throw new Error(`RCPT refused: ${reply}`);
    }
    await dialog.command('DATA');
    const done = await dialog.command(`${MESSAGE}.`);
    const queueId = /queued as ([0-9a-f]+)/.exec(done)?.[1];
    if (!queueId) throw new Error(`DATA refused: ${done}`);
    await dialog.command('QUIT');
    return queueId;
  } finally {
    dialog.close();
  }
}

function startDsnRelay(t: Test, queue: string, outbound: string[], sinks: Sink[]): RelayProcess {
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, ${queue} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
${outbound.map((line) => `  - ${line}`).join('\n')}
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await Promise.all(sinks.map((sink) => sink.close()));
  });
  return relay;
}

/** The DSN's text with folded lines unfolded. */
const unfolded = (received: Received | undefined): string => (received?.data ?? '').replace(/\r\n[ \t]+/g, ' ');

/** The per-recipient blocks of the message/delivery-status part, as "Field: value" lines. */
function recipientBlocks(text: string): string[] {
  const status = /Content-Type: message\/delivery-status\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/.exec(text)?.[1] ?? '';
  return status.split('\r\n\r\n').slice(1);
}

t.test('DSN parameters go on to a next hop with DSN; a next hop without it makes the relay report "relayed"', async (t) => {
  const capable = await startSink({ tls: 'none', dsn: true });
  const plain = await startSink({ tls: 'none' });
  const senderSide = await startSink({ tls: 'none' });
  const relay = startDsnRelay(
    t,
    'retry: [1h]',
    [
      `{ name: capable, domains: [dsn.test], smartHosts: ["127.0.0.1:${capable.port}"], tls: none }`,
      `{ name: plain, domains: [plain.test], smartHosts: ["127.0.0.1:${plain.port}"], tls: none }`,
      `{ name: senders, domains: [client.test], smartHosts: ["127.0.0.1:${senderSide.port}"], tls: none }`,
    ],
    [capable, plain, senderSide],
  );
  const queueId = await send(await relay.port(), 'MAIL FROM:<a@client.test> RET=HDRS ENVID=abc', [
    'RCPT TO:<b@dsn.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@dsn.test',
    'RCPT TO:<c@dsn.test> NOTIFY=NEVER',
    'RCPT TO:<d@plain.test> NOTIFY=SUCCESS ORCPT=rfc822;D@plain.test',
    'RCPT TO:<e@plain.test>',
  ]);

  const notice = await relay.waitForLog((line) => line.msg === 'relayed notice queued' && line.queueId === queueId, 'the relayed notice');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === notice.bounceId && line.outcome === 'delivered', 'the relayed notice delivered');

  t.equal(capable.received.length, 1, 'the DSN-capable next hop got the message once');
  t.same(capable.received[0]?.dsn, {
    ret: 'HDRS',
    envid: 'abc',
    recipients: {
      'b@dsn.test': { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b@dsn.test' },
      'c@dsn.test': { notify: ['NEVER'] },
    },
  }, 'RET, ENVID and each recipient\'s NOTIFY and ORCPT, as the client gave them');
  t.same(plain.received.map((received) => received.to), [['d@plain.test', 'e@plain.test']], 'the next hop without DSN got the message all the same');

  t.equal(senderSide.received.length, 1, 'one notice');
  const dsn = senderSide.received[0];
  t.equal(dsn?.from, '', 'from the null sender');
  t.same(dsn?.to, ['a@client.test']);
  const text = unfolded(dsn);
  t.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
  t.match(text, /^Subject: Successful Mail Delivery Report$/m);
  t.match(text, /^Original-Envelope-Id: abc$/m);
  const blocks = recipientBlocks(text);
  t.equal(blocks.length, 1, 'only d@plain.test: b@dsn.test is the DSN-capable hop\'s to report, e@plain.test asked nothing');
  t.match(blocks[0], /^Final-Recipient: rfc822; d@plain\.test$/m);
  t.match(blocks[0], /^Original-Recipient: rfc822; D@plain\.test$/m);
  t.match(blocks[0], /^Action: relayed$/m);
  t.match(blocks[0], /^Status: 2\.0\.0$/m);
  t.match(blocks[0], /^Diagnostic-Code: smtp; 250 /m);
  t.match(text, /Content-Type: text\/rfc822-headers\r\n[\s\S]*Subject: with DSN/, 'the headers come back');
  t.notMatch(text, /SECRET BODY/, 'the body does not');
});

t.test('a message deferred past queue.delayNotice gets one "delayed" DSN', async (t) => {
  const slow = await startSink({ tls: 'none', rcptReplies: { 'b@slow.test': '451 4.3.0 Try again later', 'c@slow.test': '451 4.3.0 Try again later', 'd@slow.test': '451 4.3.0 Try again later' } });
  const senderSide = await startSink({ tls: 'none' });
  const relay = startDsnRelay(
    t,
    'retry: [1s], delayNotice: 1s',
    [
      `{ name: slow, domains: [slow.test], smartHosts: ["127.0.0.1:${slow.port}"], tls: none, maxAge: 1d }`,
      `{ name: senders, domains: [client.test], smartHosts: ["127.0.0.1:${senderSide.port}"], tls: none }`,
    ],
    [slow, senderSide],
  );
  const sentAt = Date.now();
  const queueId = await send(await relay.port(), 'MAIL FROM:<a@client.test> ENVID=late-1', [
    'RCPT TO:<b@slow.test>',
    'RCPT TO:<c@slow.test> NOTIFY=FAILURE',
    'RCPT TO:<d@slow.test> NOTIFY=DELAY ORCPT=rfc822;d@slow.test',
  ]);

  const notice = await relay.waitForLog((line) => line.msg === 'delay notice queued' && line.queueId === queueId, 'the delay notice');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === notice.bounceId && line.outcome === 'delivered', 'the delay notice delivered');
  // two more deferrals after the notice: the first of them has been recorded once the second is made
  const noticeAt = relay.logs.indexOf(notice);
  const deferralsSince = (): number => relay.logs.slice(noticeAt).filter((line) => line.msg === 'delivery attempt' && line.queueId === queueId && line.outcome === 'deferred').length;
  await relay.waitForLog(() => deferralsSince() >= 2, 'two deferrals after the notice');

  t.equal(relay.logs.filter((line) => line.msg === 'delay notice queued' && line.queueId === queueId).length, 1, 'one notice, whatever the deferrals after it');
  t.equal(senderSide.received.length, 1, 'one DSN reached the sender');
  t.equal(slow.received.length, 0, 'the message itself is still waiting');
  const dsn = senderSide.received[0];
  t.equal(dsn?.from, '');
  t.same(dsn?.to, ['a@client.test']);
  const text = unfolded(dsn);
  t.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
  t.match(text, /^Subject: Delayed Mail \(still being retried\)$/m);
  t.match(text, /^Original-Envelope-Id: late-1$/m);
  const blocks = recipientBlocks(text);
  t.same(
    blocks.map((block) => /^Final-Recipient: rfc822; (.*)$/m.exec(block)?.[1]),
    ['b@slow.test', 'd@slow.test'],
    'no NOTIFY and NOTIFY=DELAY are told; NOTIFY=FAILURE is not',
  );
  for (const block of blocks) {
    t.match(block, /^Action: delayed$/m);
    t.match(block, /^Status: 4\.3\.0$/m);
    t.match(block, /^Diagnostic-Code: smtp; 451 4\.3\.0 Try again later$/m, 'the last deferral');
    const until = Date.parse(/^Will-Retry-Until: (.*)$/m.exec(block)?.[1] ?? '');
    const day = 86_400_000;
    // mail dates have whole seconds: arrival + maxAge, within the time the dialog took
    t.ok(until >= Math.floor(sentAt / 1000) * 1000 + day - 1000 && until <= Date.now() + day, `Will-Retry-Until is arrival + maxAge (${new Date(until).toISOString()})`);
  }
  t.match(blocks[1], /^Original-Recipient: rfc822; d@slow\.test$/m);
  t.match(text, /Content-Type: text\/rfc822-headers/);
  t.notMatch(text, /SECRET BODY/);
});
