// Slow clients against the relay process: smtp.idleTimeout is a deadline per request, from
// its first byte (Postfix's smtpd_per_request_deadline), and the message data must keep up
// smtp.minDataRate (smtpd_min_data_rate). Each client here sends a byte (or a line) every
// 300 ms, so smtp-server's idle timer, which every byte restarts, would never end its
// session: what ends it is the relay's 421 4.4.2. The test waits for the reply and the close,
// and never measures time.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { dripUntilAnswered, openDialog, startTransaction, type SmtpDialog } from '../helpers/smtpDialog.js';

const DRIP_MS = 300;
const TIMEOUT_REPLY = '421 4.4.2 relay.test Error: timeout exceeded\r\n';

/** The warning the relay logs for the session whose deadline passed. */
function deadlineLogged(relay: RelayProcess, kind: 'command' | 'data', listener: string): Promise<Record<string, unknown>> {
  return relay.waitForLog((line) => line.msg === 'request deadline exceeded: connection closed' && line.deadline === kind && line.listener === listener, `the ${kind} deadline logged`);
}

t.test('per-request deadlines', async (t) => {
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0, tls: starttls }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
smtp: { idleTimeout: 2s }
`,
    ),
  );
  t.teardown(() => relay.stop());
  const port = await relay.port();
  const open = async (): Promise<SmtpDialog> => {
    const dialog = await openDialog(port);
    t.teardown(() => dialog.close());
    return dialog;
  };

  await t.test('a command line dripped a byte at a time gets 421 4.4.2 and the connection is closed', async (t) => {
    const dialog = await open();
    await dialog.write('EHLO ');
    t.equal(await dripUntilAnswered(dialog, 'x', DRIP_MS), TIMEOUT_REPLY);
    await dialog.closed();
    const logged = await deadlineLogged(relay, 'command', 'smtp');
    t.match(logged, { level: 40, client: '127.0.0.1', session: String }, 'logged as a warning with the client and the session');
    const connected = relay.logs.find((line) => line.msg === 'connect' && line.session === logged.session);
    t.ok(connected, 'the session ID is the one of its connect line');
  });

  await t.test('message data dripped a byte at a time is cut', async (t) => {
    const dialog = await open();
    t.match(await startTransaction(dialog, 'user@contoso.test'), /^354 /);
    t.equal(await dripUntilAnswered(dialog, 'x', DRIP_MS), TIMEOUT_REPLY);
    await dialog.closed();
    const logged = await deadlineLogged(relay, 'data', 'smtp');
    t.match(logged, { client: '127.0.0.1', from: 'a@client.test' });
    t.notOk(relay.logs.some((line) => line.msg === 'message accepted' && line.session === logged.session), 'nothing of it was accepted');
  });

  await t.test('message data in whole lines, but below minDataRate (100 bytes per 300 ms), is cut', async (t) => {
    const dialog = await open();
    t.match(await startTransaction(dialog, 'user@contoso.test'), /^354 /);
    await dialog.write('Subject: slow\r\n\r\n');
    t.equal(await dripUntilAnswered(dialog, `${'x'.repeat(98)}\r\n`, DRIP_MS), TIMEOUT_REPLY);
    await dialog.closed();
  });

  await t.test('a large message at a normal rate, for longer than idleTimeout in all, is taken', async (t) => {
    const dialog = await open();
    t.match(await startTransaction(dialog, 'user@contoso.test'), /^354 /);
    // 64,000 bytes every 300 ms: far above minDataRate, and about 9 s in all
    const chunk = `${'y'.repeat(998)}\r\n`.repeat(64);
    await dialog.write('Subject: large\r\n\r\n');
    for (let i = 0; i < 30; i++) {
      await dialog.write(chunk);
      await sleep(DRIP_MS);
    }
    t.match(await dialog.command('.'), /^250 2\.0\.0 Ok: queued as /, 'accepted');
    t.match(await dialog.command('NOOP'), /^250 /, 'and the session goes on');
  });

  await t.test('inside TLS: a command line dripped after STARTTLS is cut', async (t) => {
    const dialog = await open();
    t.match(await dialog.command('EHLO client.test'), /^250/);
    t.match(await dialog.startTls(), /^220 /);
    t.match(await dialog.command('EHLO client.test'), /^250/, 'a whole command inside TLS is answered');
    await dialog.write('MAIL FROM:');
    t.equal(await dripUntilAnswered(dialog, 'x', DRIP_MS), TIMEOUT_REPLY, 'the 421 comes inside TLS');
    await dialog.closed();
    const logged = await relay.waitForLog(
      (line) => line.msg === 'request deadline exceeded: connection closed' && relay.logs.some((tls) => tls.msg === 'inbound TLS established' && tls.session === line.session),
      'the deadline of the TLS session logged',
    );
    t.match(logged, { deadline: 'command', listener: 'smtp' });
  });
});
