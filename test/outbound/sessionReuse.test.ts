// Messages for the same next hop share one connection, also across domains and rounds:
// a session that carried its messages is parked and the next delivery to that address,
// under the same connector, reuses it after an RSET. Real next hops on loopback.
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import type { OutboundConnector } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import type { MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import { startSink } from '../helpers/peers.js';
import { startScriptedNextHop, type ScriptedNextHop, type StarttlsScript } from '../helpers/scriptedNextHop.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';

const BODY = 'Subject: reuse\r\n\r\nHello.\r\n';

function message(queueId: string, recipient: string): OutgoingMessage {
  return { queueId, from: 'a@sender.test', recipients: [recipient], size: BODY.length, openData: () => Readable.from([Buffer.from(BODY)]) };
}

function via(name: string, domains: string[], port: number, fields: Partial<OutboundConnector> = {}): OutboundConnector {
  return testConnector({ name, domains, smartHosts: [{ host: '127.0.0.1', port }], ...fields });
}

async function hop(t: Test, starttls: StarttlsScript = { kind: 'not-offered' }): Promise<ScriptedNextHop> {
  const started = await startScriptedNextHop({ starttls });
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
