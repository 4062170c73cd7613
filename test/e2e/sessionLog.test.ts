// The log of SMTP sessions against the relay process: connect and disconnect (with
// Postfix's command counts), every refusal naming the session, the client and the sender,
// and README's grep following one message from its connect to its delivery — while
// another session from the same client stays out of it.
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readmeBlock, substitute } from '../helpers/docText.js';
import { makeCert } from '../helpers/pki.js';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig, type LogLine } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

const run = promisify(execFile);

t.test('sessions are logged from connect to disconnect, and one message can be followed to its delivery', async (t) => {
  const dir = t.testdir();
  const sink = await startSink({ tls: 'none' });
  const { key, cert } = await makeCert({ names: ['relay.test'] });
  writeFileSync(join(dir, 'relay.crt'), cert);
  writeFileSync(join(dir, 'relay.key'), key);
  const relay = startRelay(
    writeConfig(
      dir,
      `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
smtp: { maxMessageSize: 10000, maxRecipients: 2 }
outbound: [{ name: onprem, domains: [contoso.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();
  const isConnect = (line: LogLine) => line.msg === 'connect';

  // the message to follow, over STARTTLS, with one recipient refused on the way
  const alice = await openDialog(port);
  const aliceConnect = await relay.waitForLog(isConnect, 'the first connect');
  const aliceSession = String(aliceConnect.session);
  t.match(aliceConnect, { listener: 'smtp', session: /^[0-9a-v]{16}$/, client: '127.0.0.1' });
  t.match(aliceConnect.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'the time in ISO 8601 UTC');

  // meanwhile another session from the same address, refused three ways
  const mallory = await openDialog(port);
  const malloryConnect = await relay.waitForLog((line) => isConnect(line) && line.session !== aliceSession, 'the second connect');
  const mallorySession = String(malloryConnect.session);

  t.match(await alice.command('EHLO client.test'), /^250/);
  t.match(await alice.startTls(), /^220/);
  t.match(await alice.command('EHLO client.test'), /^250/);
  t.match(await alice.command('MAIL FROM:<alice@client.test>'), /^250/);
  t.match(await alice.command('RCPT TO:<someone@example.com>'), /^550 5\.7\.1 Relaying denied/);
  t.match(await alice.command('RCPT TO:<bob@contoso.test>'), /^250/);
  t.match(await alice.command('DATA'), /^354/);
  const queued = /^250 2\.0\.0 Ok: queued as ([0-9a-f]+)/.exec(await alice.command('Subject: followed\r\n\r\nHello Bob.\r\n.'));
  t.ok(queued, 'queued');
  const queueId = queued![1]!;

  t.match(await mallory.command('EHLO client.test'), /^250/);
  t.match(await mallory.command('MAIL FROM:<mallory@client.test> SIZE=20000'), /^552 5\.3\.4 /);
  t.match(await mallory.command('MAIL FROM:<mallory@client.test>'), /^250/);
  t.match(await mallory.command('RCPT TO:<a@contoso.test>'), /^250/);
  t.match(await mallory.command('RCPT TO:<b@contoso.test>'), /^250/);
  t.match(await mallory.command('RCPT TO:<c@contoso.test>'), /^452 4\.5\.3 /);
  t.match(await mallory.command('DATA'), /^354/);
  t.match(await mallory.command('Subject: smuggled\r\n\r\nbare\nLF\r\n.'), /^550 5\.5\.2 /);
  t.match(await mallory.command('QUIT'), /^221/);
  t.match(await alice.command('QUIT'), /^221/);

  const disconnectOf = (session: string) => relay.waitForLog((line) => line.msg === 'disconnect' && line.session === session, `the disconnect of ${session}`);
  t.match(await disconnectOf(aliceSession), {
    listener: 'smtp',
    client: '127.0.0.1',
    helo: 'client.test',
    user: null,
    tls: { protocol: 'TLSv1.3', cipher: String },
    messages: 1,
    commands: 'ehlo=2 starttls=1 mail=1 rcpt=1/2 data=1 quit=1 commands=7/8',
  });
  t.match(await disconnectOf(mallorySession), { tls: null, messages: 0, commands: 'ehlo=1 mail=1/2 rcpt=2/3 data=0/1 quit=1 commands=5/8' });

  const refusal = (msg: string) => relay.logs.find((line) => line.msg === msg && line.session === mallorySession);
  const mallorys = { listener: 'smtp', session: mallorySession, client: '127.0.0.1', from: 'mallory@client.test' };
  t.match(refusal('sender refused: declared size over the limit'), { ...mallorys, size: 20000, limit: 10000, code: 552, response: /^5\.3\.4 / });
  t.match(refusal('recipient refused'), { ...mallorys, to: 'c@contoso.test', limit: 2, code: 452, response: '4.5.3 Error: too many recipients' });
  t.match(refusal('message refused'), { ...mallorys, recipients: 2, code: 550, response: /^5\.5\.2 / });
  t.match(
    relay.logs.find((line) => line.msg === 'recipient refused' && line.session === aliceSession),
    { listener: 'smtp', client: '127.0.0.1', from: 'alice@client.test', to: 'someone@example.com', code: 550 },
    'relaying denied names the session, the client and the sender',
  );
  t.match(relay.logs.find((line) => line.msg === 'message accepted'), { session: aliceSession, client: '127.0.0.1', from: 'alice@client.test', queueId });

  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === queueId && line.outcome === 'delivered', 'the delivery');

  // README's grep, as written, over the log the relay wrote (the IDs and the file are this run's)
  const logFile = join(dir, 'relay.log');
  writeFileSync(logFile, relay.logs.map((line) => JSON.stringify(line) + '\n').join(''));
  const grep = substitute(readmeBlock('### Following one message', 'sh'), [
    ['1vp8cq3ig2e6m0rd', aliceSession],
    ['0000019ad4e7b1c2a3f4e5d6', queueId],
    ['tlsrelay.log', logFile],
  ]);
  const found = (await run('sh', ['-c', grep])).stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine);
  t.same(
    found.slice(0, 4).map((line) => line.msg),
    ['connect', 'inbound TLS established', 'recipient refused', 'message accepted'],
    'the session in order, up to the message',
  );
  const messages = found.map((line) => line.msg);
  t.ok(messages.includes('disconnect') && messages.includes('delivery attempt'), 'then its disconnect and the delivery');
  t.ok(
    found.every((line) => line.session === aliceSession || line.queueId === queueId),
    'only lines of that session and that message',
  );
  t.notOk(found.some((line) => line.session === mallorySession), 'nothing of the other session from the same address');
});
