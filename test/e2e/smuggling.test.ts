// SMTP smuggling through the real relay: data with bare CR or LF is refused with
// Postfix's reply (or repaired with smtp.bareLineEndings: normalize), the relay keeps
// running, and nothing reaches the next hop as two messages.
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';

const payloads: Array<[string, string]> = [
  ['<LF>.<LF>', 'Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<evil@attacker.test>\r\nsmuggled\r\n'],
  ['<CR><LF>.<LF>', 'Subject: one\r\n\r\nfirst\r\n.\nsmuggled\r\n'],
  ['<LF>.<CR><LF>', 'Subject: one\r\n\r\nfirst\n.\r\nsmuggled\r\n'],
  ['<CR>.<CR>', 'Subject: one\r\n\r\nfirst\r.\rsmuggled\r\n'],
  ['bare LF header', 'Subject: one\nBcc: x@y.test\r\n\r\nbody\r\n'],
];

for (const mode of ['reject', 'normalize'] as const) {
  t.test(`bareLineEndings: ${mode}`, async (t) => {
    const sink = await startSink({ tls: 'none' });
    const relay = startRelay(
      writeConfig(
        t.testdir(),
        `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
smtp: { bareLineEndings: ${mode} }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound: [{ name: sink, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }]
`,
      ),
    );
    t.teardown(async () => {
      await relay.stop();
      await sink.close();
    });
    const port = await relay.port();
    for (const [name, data] of payloads) {
      const dialog = await openDialog(port);
      await dialog.command('EHLO client.test');
      await dialog.command('MAIL FROM:<a@client.test>');
      await dialog.command('RCPT TO:<user@partner.test>');
      t.match(await dialog.command('DATA'), /^354/);
      // split in two network writes, right after the first bare line ending
      const cut = data.search(/(?<!\r)\n|\r(?!\n)/) + 1;
      dialog.write(data.slice(0, cut));
      dialog.write(`${data.slice(cut)}.\r\n`);
      const reply = await dialog.reply();
      if (mode === 'reject') t.match(reply, /^550 5\.5\.2 Error: bare <CR> or <LF> received/, `${name}: refused`);
      else t.match(reply, /^250 /, `${name}: accepted, repaired`);
      t.match(await dialog.command('RSET'), /^250/, `${name}: the session goes on`);
      dialog.close();
    }
    if (mode === 'normalize') {
      while (sink.received.length < payloads.length) {
        await relay.waitForLog((line) => line.msg === 'delivery attempt' && relay.logs.filter((l) => l.msg === 'delivery attempt').length >= payloads.length, 'all deliveries');
      }
      for (const message of sink.received) {
        t.notMatch(message.data, /(?<!\r)\n|\r(?!\n)/, 'the next hop receives CRLF only');
        t.equal(message.from, 'a@client.test', 'every message the next hop saw is one the client sent');
      }
      t.equal(sink.received.length, payloads.length, 'one message per DATA: the smuggled part stayed inside its message');
      t.ok(sink.received.some((m) => /\r\n\.\r\nMAIL FROM:<evil@attacker\.test>\r\nsmuggled\r\n/.test(m.data)), 'the would-be second message is just body text, dot-stuffed on the wire');
    } else {
      t.equal(relay.logs.filter((line) => line.msg === 'message accepted').length, 0, 'nothing was queued');
    }
    t.equal(relay.child.exitCode, null, 'the relay is still running');
  });
}
