// STARTTLS injection, inbound: commands a client (or a man in the middle) pipelines
// behind STARTTLS in plaintext must not be executed inside the TLS session.
import t from 'tap';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

t.test('plaintext pipelined behind STARTTLS is discarded', async (t) => {
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `listeners: [{ name: smtp, port: 0, tls: starttls }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
`,
    ),
  );
  t.teardown(() => relay.stop());
  const dialog = await openDialog(await relay.port());
  t.teardown(() => dialog.close());
  t.match(await dialog.command('EHLO client.test'), /STARTTLS/);

  t.match(await dialog.startTls('MAIL FROM:<injected@evil.test>\r\nRCPT TO:<user@contoso.test>\r\n'), /^220 /, 'STARTTLS accepted');
  const ehlo = await dialog.command('EHLO client.test');
  t.match(ehlo, /^250[- ]/, 'the first reply inside TLS answers our EHLO, not an injected command');
  t.match(await dialog.command('RCPT TO:<user@contoso.test>'), /^503 /, 'no MAIL FROM is in effect: the injected one was never executed');
  t.match(await dialog.command('MAIL FROM:<a@client.test>'), /^250 /, 'a MAIL FROM sent inside TLS is taken');
  t.match(await dialog.command('RCPT TO:<user@contoso.test>'), /^250 /);
});
