// The per-request deadlines charge the client only for time the relay spends waiting for
// it. Here the relay is the slow one: the listeners run in this process over the real spool,
// and the store holds the commit of a message until the test lets it go — which it does only
// once another session on the same listener, started after that message's final dot, was
// cut by its own deadline. So the held message waited longer than a deadline, and still gets
// its 250. (Real sockets, the real listeners and spool; the only stand-in is the delay.)
import t from 'tap';
import { startListeners } from '../../src/inbound/listeners.js';
import type { MessageStore } from '../../src/inbound/relaySession.js';
import { createLogger } from '../../src/log.js';
import { Spool } from '../../src/queue/spool.js';
import { dripUntilAnswered, openDialog, startTransaction } from '../helpers/smtpDialog.js';
import { testConfig } from '../helpers/testConfig.js';

t.test('a message is not cut while the spool takes its time', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>) });
  const config = testConfig({
    listeners: [{ name: 'smtp', address: '127.0.0.1', port: 0, tls: 'none', auth: 'none' }],
    acceptedDomains: ['contoso.test'],
    smtp: { ...testConfig().smtp, idleTimeout: 2_000 },
  });
  const spool = await Spool.open(t.testdir(), logger);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let heldSignal!: () => void;
  const held = new Promise<void>((resolve) => (heldSignal = resolve));
  const slowStore: MessageStore = {
    async store(message, data) {
      const envelope = await spool.store(message, data);
      heldSignal();
      await released;
      return envelope;
    },
  };
  const inbound = await startListeners(config, { certificates: [], ca: [], crl: [] }, { config, store: slowStore, logger });
  t.teardown(() => inbound.close());
  const port = inbound.listeners[0]!.port;

  const sender = await openDialog(port);
  t.teardown(() => sender.close());
  t.match(await startTransaction(sender, 'user@contoso.test'), /^354 /);
  const accepted = sender.command('Subject: held\r\n\r\nwaits for the spool\r\n.');
  await held;

  const slow = await openDialog(port);
  t.teardown(() => slow.close());
  await slow.write('EHLO ');
  t.match(await dripUntilAnswered(slow, 'x', 300), /^421 4\.4\.2 /, 'a client that was slow itself meanwhile was cut');

  release();
  t.match(await accepted, /^250 2\.0\.0 Ok: queued as /, 'the message the relay was slow with got its 250');
  t.match(await sender.command('NOOP'), /^250 /, 'and its session goes on');
  t.equal(lines.filter((line) => line.msg === 'request deadline exceeded: connection closed').length, 1, 'one session was cut, the slow client');
});
