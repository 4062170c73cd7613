// The disconnect line's counts rest on what smtp-server hands its `logger` option: one
// call per command line and one per reply, with the session ID. This runs a real
// smtp-server over a real socket (STARTTLS, AUTH with a continuation line, a message,
// pipelined commands, an unknown one) and checks exactly what the observer was told, so an
// upgrade of smtp-server that changes that shape fails here and not silently in the logs.
import t from 'tap';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { commandObservingLogger } from '../../src/inbound/commandObserver.js';
import { makeCert } from '../helpers/pki.js';
import { openDialog } from '../helpers/smtpDialog.js';

type Observed = ['command', string] | ['reply', number];

t.test('every command line and every reply reaches the observer, in order, under the session ID', async (t) => {
  const observed = new Map<string, Observed[]>();
  const seen = (id: string): Observed[] => observed.get(id) ?? observed.set(id, []).get(id)!;
  const sessionIds: string[] = [];
  const { key, cert } = await makeCert({ names: ['relay.test'] });
  const server = new SMTPServer({
    key,
    cert,
    disableReverseLookup: true,
    authOptional: true,
    authMethods: ['PLAIN'],
    logger: commandObservingLogger({
      command: (id, word) => seen(id).push(['command', word]),
      reply: (id, code) => seen(id).push(['reply', code]),
    }),
    onConnect: (session, done) => {
      sessionIds.push(session.id);
      done();
    },
    onAuth: (auth, _session, done) => done(null, { user: auth.username }),
    onRcptTo: (address, _session, done) => done(address.address.startsWith('nobody@') ? Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }) : null),
    onData: (stream, _session, done) => {
      stream.resume();
      stream.on('end', () => done(null, 'queued'));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const dialog = await openDialog((server.server.address() as AddressInfo).port);

  t.match(await dialog.command('EHLO client.test'), /^250/);
  t.match(await dialog.startTls(), /^220/);
  t.match(await dialog.command('EHLO client.test'), /^250/);
  t.match(await dialog.command('AUTH PLAIN'), /^334/);
  t.match(await dialog.command(Buffer.from('\0scanner\0secret').toString('base64')), /^235/);
  t.match(await dialog.command('MAIL FROM:<a@client.test>'), /^250/);
  t.match(await dialog.command('RCPT TO:<nobody@relay.test>'), /^550/);
  t.match(await dialog.command('RCPT TO:<b@relay.test>'), /^250/);
  t.match(await dialog.command('DATA'), /^354/);
  t.match(await dialog.command('Subject: MAIL FROM:<not@a.command>\r\n\r\nQUIT is not a command here\r\n.'), /^250/);
  await dialog.write('RSET\r\nNOOP\r\n');
  t.match(await dialog.reply(), /^250/);
  t.match(await dialog.reply(), /^250/);
  t.match(await dialog.command('FOO bar'), /^500/);
  t.match(await dialog.command('QUIT'), /^221/);
  dialog.close();

  t.equal(sessionIds.length, 1);
  t.same([...observed.keys()], sessionIds, 'everything under the session ID the hooks see');
  t.same(observed.get(sessionIds[0]!), [
    ['reply', 220],
    ['command', 'EHLO'], ['reply', 250],
    ['command', 'STARTTLS'], ['reply', 220],
    ['command', 'EHLO'], ['reply', 250],
    ['command', 'AUTH'], ['reply', 334],
    ['command', 'AUTH'], ['reply', 235],
    ['command', 'MAIL'], ['reply', 250],
    ['command', 'RCPT'], ['reply', 550],
    ['command', 'RCPT'], ['reply', 250],
    ['command', 'DATA'], ['reply', 354], ['reply', 250],
    ['command', 'RSET'], ['reply', 250],
    ['command', 'NOOP'], ['reply', 250],
    ['command', 'FOO'], ['reply', 500],
    ['command', 'QUIT'], ['reply', 221],
  ]);
});
