// Exhaustion: every limit of the smtp.* section, hit over real sockets against the relay
// process. (auth.maxFailuresPerIp is proven in submissionAuth.test.ts.) Timeouts are small
// in the config and the test only waits for the close: nothing here measures time.
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import t from 'tap';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog, type SmtpDialog } from '../helpers/smtpDialog.js';

const LIMITS = `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
smtp: { maxClients: 3, maxConnectionsPerIp: 2, maxRecipients: 2, maxMessageSize: 1000, maxMessagesPerConnection: 2 }
`;

t.test('connection, recipient, size and line limits', async (t) => {
  const relay = startRelay(writeConfig(t.testdir(), LIMITS));
  t.teardown(() => relay.stop());
  const port = await relay.port();
  const open: SmtpDialog[] = [];
  t.teardown(() => open.forEach((dialog) => dialog.close()));
  const hold = async (localAddress: string): Promise<SmtpDialog> => {
    const dialog = await openDialog(port, { localAddress });
    open.push(dialog);
    return dialog;
  };

  await t.test('maxConnectionsPerIp: the third connection from one IP gets 421 4.7.0', async (t) => {
    t.match((await hold('127.0.0.1')).greeting, /^220 /);
    t.match((await hold('127.0.0.1')).greeting, /^220 /);
    const third = await openDialog(port, { localAddress: '127.0.0.1' });
    t.match(third.greeting, /^421 4\.7\.0 Too many connections from 127\.0\.0\.1/);
    third.close();
    await relay.waitForLog((line) => line.msg === 'too many connections from one client' && line.client === '127.0.0.1', 'the per-IP refusal logged');
  });

  await t.test('maxClients: beyond it a connection gets 421 from smtp-server', async (t) => {
    t.match((await hold('127.0.0.2')).greeting, /^220 /, 'the third client in all is served');
    const fourth = await openDialog(port, { localAddress: '127.0.0.3' });
    t.match(fourth.greeting, /^421 .*Too many connected clients/, 'the fourth gets 421 (smtp-server\'s text, no enhanced code)');
    fourth.close();
  });

  // free the slots again for the dialogs below; the relay notices the closes when it
  // notices them, so until then a new connection may still be one too many
  for (const dialog of open.splice(0)) dialog.close();
  const served = async (localAddress: string): Promise<SmtpDialog> => {
    for (;;) {
      const dialog = await openDialog(port, { localAddress });
      if (!/^421 .*Too many connected clients/.test(dialog.greeting)) return dialog;
      dialog.close();
    }
  };

  await t.test('maxRecipients, SIZE= and message size', async (t) => {
    const dialog = await served('127.0.0.4');
    t.teardown(() => dialog.close());
    t.match(await dialog.command('EHLO client.test'), /250 SIZE 1000\r\n/, 'SIZE advertises smtp.maxMessageSize');
    t.match(
      await dialog.command('MAIL FROM:<a@client.test> SIZE=1001'),
      /^552 5\.3\.4 Message size exceeds fixed maximum message size\r\n$/,
      'SIZE= over the limit is refused at MAIL with 552 5.3.4',
    );
    t.match(await dialog.command('MAIL FROM:<a@client.test> SIZE=1001 BODY=9BIT'), /^501 /, 'smtp-server still checks the other parameters');
    t.match(await dialog.command('MAIL FROM:<a@client.test> SIZE=1e3'), /^501 .*size syntax/i, 'and the syntax of SIZE=');
    t.match(await dialog.command('MAIL FROM:<a@client.test> SIZE=500'), /^250 /);
    t.match(await dialog.command('RCPT TO:<one@contoso.test>'), /^250 /);
    t.match(await dialog.command('RCPT TO:<two@contoso.test>'), /^250 /);
    t.match(await dialog.command('RCPT TO:<ONE@contoso.test>'), /^250 /, 'a repeated recipient does not count twice');
    t.match(await dialog.command('RCPT TO:<three@contoso.test>'), /^452 4\.5\.3 Error: too many recipients/, 'the recipient over maxRecipients gets 452 4.5.3');
    t.match(await dialog.command('DATA'), /^354/);
    // SIZE=500 was a lie: the body itself is measured
    t.match(await dialog.command(`Subject: big\r\n\r\n${'x'.repeat(70)}\r\n`.repeat(20) + '.'), /^552 5\.3\.4 /, 'a body over maxMessageSize gets 552 5.3.4');
    t.match(await dialog.command('MAIL FROM:<a@client.test> SIZE=1000'), /^250 /, 'SIZE= at the limit is accepted');
    t.match(await dialog.command('NOOP'), /^250 /, 'the session goes on after the refusal');
  });

  await t.test('maxMessagesPerConnection: the MAIL FROM after that many accepted messages gets 421 4.7.0 and the connection closes', async (t) => {
    const send = async (dialog: SmtpDialog, data: string): Promise<string> => {
      t.match(await dialog.command('MAIL FROM:<a@client.test>'), /^250 /);
      t.match(await dialog.command('RCPT TO:<one@contoso.test>'), /^250 /);
      t.match(await dialog.command('DATA'), /^354/);
      return dialog.command(`${data}.`);
    };
    const dialog = await served('127.0.0.6');
    t.teardown(() => dialog.close());
    t.match(await dialog.command('EHLO client.test'), /^250/);
    t.match(await send(dialog, 'Subject: bare\n\r\n'), /^550 5\.5\.2 /, 'a refused message does not count');
    t.match(await send(dialog, 'Subject: one\r\n\r\n'), /^250 /);
    t.match(await dialog.command('RSET'), /^250 /);
    t.match(await send(dialog, 'Subject: two\r\n\r\n'), /^250 /);
    t.match(await dialog.command('MAIL FROM:<a@client.test>'), /^421 4\.7\.0 Too many messages in this session, try again later\r\n$/);
    await t.rejects(dialog.reply(), /connection closed/, 'the relay hung up');
    await relay.waitForLog((line) => line.msg === 'too many messages in one connection' && line.client === '127.0.0.6' && line.limit === 2, 'the limit logged');

    const again = await served('127.0.0.6');
    t.teardown(() => again.close());
    t.match(await again.command('EHLO client.test'), /^250/);
    t.match(await send(again, 'Subject: three\r\n\r\n'), /^250 /, 'a new connection starts counting afresh');
  });

  await t.test('a command line over smtp-server\'s 16 KB limit gets 421 and the connection closes', async (t) => {
    const dialog = await served('127.0.0.5');
    t.teardown(() => dialog.close());
    t.match(await dialog.command(`NOOP ${'x'.repeat(17 * 1024)}`), /^421 .*Command line too long/);
    await t.rejects(dialog.reply(), /connection closed/, 'the relay hung up');
  });
});

t.test('idleTimeout: a silent session gets 421 and is closed', async (t) => {
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
smtp: { idleTimeout: 2s }
`,
    ),
  );
  t.teardown(() => relay.stop());
  const dialog = await openDialog(await relay.port());
  t.teardown(() => dialog.close());
  t.match(await dialog.command('EHLO client.test'), /^250/);
  t.match(await dialog.reply(), /^421 .*Timeout/i, 'the relay says why');
  await t.rejects(dialog.reply(), /connection closed/, 'and hangs up');
});

t.test('TLS handshake timeouts drop slow clients', async (t) => {
  // idleTimeout far above handshakeTimeout: smtp-server alone would wait an hour for the handshakes
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners:
  - { name: starttls, port: 0, tls: starttls }
  - { name: implicit, port: 0, tls: implicit }
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
smtp: { idleTimeout: 1h, handshakeTimeout: 2s }
`,
    ),
  );
  t.teardown(() => relay.stop());
  const starttlsPort = await relay.port('starttls');
  const implicitPort = await relay.port('implicit');

  await t.test('handshakeTimeout: STARTTLS and then no handshake is dropped; a finished handshake is not', async (t) => {
    const done = await openDialog(starttlsPort);
    t.teardown(() => done.close());
    t.match(await done.startTls(), /^220 /);
    await relay.waitForLog((line) => line.msg === 'inbound TLS established', 'the handshake done');

    // a plaintext session whose message has a line "STARTTLS" started no handshake
    const plaintext = await openDialog(starttlsPort);
    t.teardown(() => plaintext.close());
    t.match(await plaintext.command('EHLO client.test'), /^250/);
    t.match(await plaintext.command('MAIL FROM:<a@client.test>'), /^250/);
    t.match(await plaintext.command('RCPT TO:<user@contoso.test>'), /^250/);
    t.match(await plaintext.command('DATA'), /^354/);
    t.match(await plaintext.command('Subject: words\r\n\r\nSTARTTLS\r\n.'), /^250 /);

    const stalled = await openDialog(starttlsPort);
    t.teardown(() => stalled.close());
    t.match(await stalled.command('STARTTLS'), /^220 /);
    await t.rejects(stalled.reply(), /connection closed/, 'the relay hung up');
    await relay.waitForLog((line) => line.msg === 'inbound TLS handshake failed' && line.listener === 'starttls' && line.reason === 'handshake not finished within smtp.handshakeTimeout', 'the timeout logged');
    // started before the stalled one, so its deadline (had it one left) would have passed too
    t.match(await done.command('EHLO client.test'), /^250/, 'the session that finished its handshake is still served');
    t.match(await plaintext.command('NOOP'), /^250/, 'the plaintext session with STARTTLS in its message is still served');
  });

  await t.test('handshakeTimeout: an implicit TLS connection that never says hello', async (t) => {
    const socket = connectTcp({ host: '127.0.0.1', port: implicitPort });
    t.teardown(() => socket.destroy());
    socket.on('error', () => {});
    await once(socket, 'connect');
    await once(socket, 'close');
    await relay.waitForLog((line) => line.msg === 'inbound TLS handshake failed' && line.listener === 'implicit' && line.reason === 'handshake not finished within smtp.handshakeTimeout', 'the timeout logged');
    t.pass('the relay hung up');
  });
});
