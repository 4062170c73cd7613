// Messages for the same next hop share one connection, also across domains and rounds:
// a session that carried its messages is parked and the next delivery to that address,
// under the same connector, reuses it after an RSET. Real next hops on loopback.
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import type { OutboundConnector } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import { REUSE_LIMIT_MS, SessionCache, sessionKey } from '../../src/outbound/sessionCache.js';
import type { MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import { startSink } from '../helpers/peers.js';
import { startScriptedNextHop, type ScriptedNextHop, type ScriptedNextHopOptions, type StarttlsScript } from '../helpers/scriptedNextHop.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';

const BODY = 'Subject: reuse\r\n\r\nHello.\r\n';

function message(queueId: string, recipient: string): OutgoingMessage {
  return { queueId, from: 'a@sender.test', recipients: [recipient], size: BODY.length, extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from([Buffer.from(BODY)]) };
}

function via(name: string, domains: string[], port: number, fields: Partial<OutboundConnector> = {}): OutboundConnector {
  return testConnector({ name, domains, smartHosts: [{ host: '127.0.0.1', port }], ...fields });
}

async function hop(t: Test, starttls: StarttlsScript = { kind: 'not-offered' }, options: Omit<ScriptedNextHopOptions, 'starttls'> = {}): Promise<ScriptedNextHop> {
  const started = await startScriptedNextHop({ starttls, ...options });
  t.teardown(() => started.close());
  return started;
}

const outcomeOf = (results: MessageResult[]) => results.map((result) => result.recipients.map((recipient) => recipient.outcome));
const verbs = (next: ScriptedNextHop, connection: number) => next.commands.filter((command) => command.connection === connection).map((command) => command.verb);

t.test('two domains behind one next hop, one after the other: one connection, RSET before the second MAIL', async (t) => {
  const next = await hop(t);
  const { ctx, log } = testDeliveryContext(testConfig({ outbound: [via('partner', ['a.test', 'b.test'], next.port, { tls: 'none' })] }));
  t.teardown(() => ctx.sessions.closeAll());
  t.same(outcomeOf(await deliverDomain('a.test', [message('A', 'u@a.test')], ctx)), [['delivered']]);
  t.same(outcomeOf(await deliverDomain('b.test', [message('B', 'u@b.test')], ctx)), [['delivered']]);
  t.equal(next.connections, 1, 'the second domain rode the first one’s session');
  t.same(verbs(next, 1), ['EHLO', 'MAIL', 'RCPT', 'DATA', 'RSET', 'MAIL', 'RCPT', 'DATA'], 'RSET first: the parked session must still answer');
  t.same(
    next.received.map((m) => m.to),
    [['u@a.test'], ['u@b.test']],
  );
  const attempts = log.lines.filter((line) => line.msg === 'delivery attempt');
  t.match(attempts, [{ domain: 'a.test', outcome: 'delivered' }, { domain: 'b.test', outcome: 'delivered', tls: null, verdict: 'none' }]);
});

t.test('a session is reused only under the connector that judged it', async (t) => {
  const next = await hop(t, { kind: 'handshake' });
  const { ctx } = testDeliveryContext(
    testConfig({
      outbound: [via('plain', ['plain.test'], next.port, { tls: 'none' }), via('forced', ['forced.test'], next.port, { tls: 'encrypt' })],
    }),
  );
  t.teardown(() => ctx.sessions.closeAll());
  t.same(outcomeOf(await deliverDomain('plain.test', [message('P', 'u@plain.test')], ctx)), [['delivered']]);
  t.same(outcomeOf(await deliverDomain('forced.test', [message('F', 'u@forced.test')], ctx)), [['delivered']]);
  t.equal(next.connections, 2, 'the plaintext session of "plain" was not lent to "forced"');
  t.same(
    next.received.map((m) => [m.to[0], m.secure]),
    [
      ['u@plain.test', false],
      ['u@forced.test', true],
    ],
    'the forced connector’s mail went inside TLS',
  );
});

t.test('a parked session the next hop hung up on is not used; a new connection takes the mail', async (t) => {
  const next = await hop(t);
  const { ctx, log } = testDeliveryContext(testConfig({ outbound: [via('partner', ['a.test'], next.port, { tls: 'none' })] }));
  t.teardown(() => ctx.sessions.closeAll());
  await deliverDomain('a.test', [message('A1', 'u@a.test')], ctx);
  next.hangUpAll();
  await next.closed(1);
  t.same(outcomeOf(await deliverDomain('a.test', [message('A2', 'v@a.test')], ctx)), [['delivered']]);
  t.equal(next.connections, 2);
  t.same(
    log.lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('next hop')),
    [],
    'a session that idled out says nothing about the host',
  );
});

t.test('an idle session ends with QUIT: after the idle limit, and at shutdown', async (t) => {
  const next = await hop(t);
  const { ctx } = testDeliveryContext(testConfig({ outbound: [via('partner', ['a.test', 'b.test'], next.port, { tls: 'none' })] }));
  await deliverDomain('a.test', [message('A', 'u@a.test')], ctx);
  await next.closed(1);
  t.equal(verbs(next, 1).at(-1), 'QUIT', 'nobody came for it: it said goodbye by itself');

  await deliverDomain('b.test', [message('B', 'u@b.test')], ctx);
  ctx.sessions.closeAll();
  await next.closed(2);
  t.equal(verbs(next, 2).at(-1), 'QUIT', 'closeAll() ends the parked session');
  await deliverDomain('a.test', [message('A2', 'v@a.test')], ctx);
  await next.closed(3);
  t.equal(verbs(next, 3).at(-1), 'QUIT', 'after closeAll() nothing is parked any more');
});

t.test('opportunistic TLS that fell back to plaintext is not parked: the next delivery tries TLS again', async (t) => {
  const sink = await startSink({ tls: 'broken-handshake' });
  t.teardown(() => sink.close());
  const { ctx } = testDeliveryContext(testConfig({ outbound: [via('partner', ['a.test'], sink.port)] }));
  t.teardown(() => ctx.sessions.closeAll());
  await deliverDomain('a.test', [message('A1', 'u@a.test')], ctx);
  t.equal(sink.connections, 2, 'the broken handshake and the plaintext fallback');
  await deliverDomain('a.test', [message('A2', 'v@a.test')], ctx);
  t.equal(sink.connections, 4, 'TLS was tried again, then the fallback again');
});

const nextHopLines = (lines: Array<Record<string, unknown>>) => lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('next hop'));

t.test('a parked session whose RSET the next hop answers with 421: a new connection takes the mail, the host is not down', async (t) => {
  const next = await hop(t, { kind: 'not-offered' }, { rsetCloses: true });
  const { ctx, log } = testDeliveryContext(testConfig({ outbound: [via('partner', ['a.test', 'b.test'], next.port, { tls: 'none' })] }));
  t.teardown(() => ctx.sessions.closeAll());
  await deliverDomain('a.test', [message('A', 'u@a.test')], ctx);
  t.same(outcomeOf(await deliverDomain('b.test', [message('B', 'u@b.test')], ctx)), [['delivered']]);
  t.equal(next.connections, 2);
  t.same(verbs(next, 1), ['EHLO', 'MAIL', 'RCPT', 'DATA', 'RSET'], 'the parked session was tried, and dropped when RSET failed');
  t.same(nextHopLines(log.lines), [], 'nothing is said about the host');
});

t.test('a next hop that takes only so many messages per connection: the rest go over new ones, and it stays up', async (t) => {
  const next = await hop(t, { kind: 'not-offered' }, { messagesPerConnection: 2 });
  const { ctx, log } = testDeliveryContext(testConfig({ outbound: [via('partner', ['a.test'], next.port, { tls: 'none' })] }));
  t.teardown(() => ctx.sessions.closeAll());
  const messages = Array.from({ length: 5 }, (_, n) => message(`Q${n}`, `u${n}@a.test`));
  t.same(outcomeOf(await deliverDomain('a.test', messages, ctx)), [['delivered'], ['delivered'], ['delivered'], ['delivered'], ['delivered']]);
  t.equal(next.connections, 3, 'two, two and one');
  t.same(
    next.received.map((m) => [m.connection, m.to[0]]),
    [
      [1, 'u0@a.test'],
      [1, 'u1@a.test'],
      [2, 'u2@a.test'],
      [2, 'u3@a.test'],
      [3, 'u4@a.test'],
    ],
  );
  t.match(nextHopLines(log.lines), [
    { msg: 'next hop ended a session that had carried mail; the rest goes over a new connection', open: 3 },
    { msg: 'next hop ended a session that had carried mail; the rest goes over a new connection', open: 1 },
  ]);
  t.notOk(
    log.lines.some((line) => line.msg === 'delivery attempt' && line.outcome !== 'delivered'),
    'no message was deferred for it',
  );
  // the session that took the fifth has room for one more
  t.same(outcomeOf(await deliverDomain('a.test', [message('Q5', 'u5@a.test')], ctx)), [['delivered']]);
  t.equal(next.connections, 3);
  // and the one after that goes over a new connection again, the parked one having been ended at MAIL
  t.same(outcomeOf(await deliverDomain('a.test', [message('Q6', 'u6@a.test')], ctx)), [['delivered']]);
  t.equal(next.connections, 4);
});

t.test('a session is not reused past its reuse time limit', async (t) => {
  const next = await hop(t);
  const clock = { now: Date.parse('2026-12-01T10:00:00Z') };
  const { ctx } = testDeliveryContext(testConfig({ outbound: [via('partner', ['a.test'], next.port, { tls: 'none' })] }));
  const sessions = new SessionCache({ clock: () => clock.now });
  t.teardown(() => sessions.closeAll());
  const shared = { ...ctx, sessions };
  await deliverDomain('a.test', [message('A1', 'u@a.test')], shared);
  clock.now += REUSE_LIMIT_MS - 1;
  await deliverDomain('a.test', [message('A2', 'v@a.test')], shared);
  t.equal(next.connections, 1, 'just inside the limit: reused');
  clock.now += 1;
  await deliverDomain('a.test', [message('A3', 'w@a.test')], shared);
  t.equal(next.connections, 2, 'at the limit the next delivery dials anew');
  await next.closed(1);
  t.equal(verbs(next, 1).at(-1), 'QUIT', 'and the old session is ended, not reused');
});

t.test('an idle session does not hold the slot another connector waits for (delivery.perHost 1)', async (t) => {
  const next = await hop(t, { kind: 'handshake' });
  const { ctx } = testDeliveryContext(
    testConfig({
      delivery: { ...testConfig().delivery, perHost: 1 },
      outbound: [via('plain', ['plain.test'], next.port, { tls: 'none' }), via('forced', ['forced.test'], next.port, { tls: 'encrypt' })],
    }),
  );
  // idle sessions would wait an hour: only being ended for the waiting delivery frees the slot
  const sessions = new SessionCache({ idleLimitMs: 3_600_000 });
  t.teardown(() => sessions.closeAll());
  const shared = { ...ctx, sessions };
  t.same(outcomeOf(await deliverDomain('plain.test', [message('P', 'u@plain.test')], shared)), [['delivered']]);
  t.same(outcomeOf(await deliverDomain('forced.test', [message('F', 'u@forced.test')], shared)), [['delivered']]);
  t.equal(verbs(next, 1).at(-1), 'QUIT', 'the idle plaintext session was ended for it');
  t.equal(next.connections, 2);
});

t.test('closeIdle ends the oldest idle session to the address asked for, or to any', async (t) => {
  const first = await hop(t);
  const second = await hop(t);
  const { ctx } = testDeliveryContext(testConfig({ outbound: [via('one', ['one.test'], first.port, { tls: 'none' }), via('two', ['two.test'], second.port, { tls: 'none' })] }));
  const sessions = new SessionCache({ idleLimitMs: 3_600_000 });
  t.teardown(() => sessions.closeAll());
  const shared = { ...ctx, sessions };
  await deliverDomain('one.test', [message('O', 'u@one.test')], shared);
  await deliverDomain('two.test', [message('T', 'u@two.test')], shared);
  t.equal(sessions.closeIdle(`127.0.0.1:${second.port}`), true);
  await second.closed(1);
  t.equal(verbs(second, 1).at(-1), 'QUIT');
  t.equal(sessions.closeIdle(`127.0.0.1:${second.port}`), false, 'none idles there any more');
  const stillParked = await sessions.take(sessionKey(shared.config.outbound[0]!, '127.0.0.1', `127.0.0.1:${first.port}`));
  t.ok(stillParked, 'the session to the other address is still parked');
  stillParked?.client.quit();
  t.equal(sessions.closeIdle(), false, 'and nothing idles now');
});
