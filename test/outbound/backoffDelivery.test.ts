// Backoff and connection caps across deliveries that share one DeliveryContext, as the
// relay process shares it: real peers on loopback, the backoff's clock in the test's hands.
import { Readable } from 'node:stream';
import t from 'tap';
import type { OutboundConnector } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import { HostBackoff } from '../../src/outbound/hostBackoff.js';
import type { DeliveryContext, MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import { REFUSAL, startCountingPeer, type CountingPeer, type CountingPeerOptions } from '../helpers/countingPeer.js';
import { startSink, type Sink, type SinkOptions } from '../helpers/peers.js';
import { testConfig, testConnector, testDeliveryContext, type CapturedLog } from '../helpers/testConfig.js';

const MINUTE = 60_000;
const T0 = Date.parse('2025-11-28T10:00:00.000Z');
const BODY = 'Subject: backoff\r\n\r\nHello.\r\n';

function message(queueId: string, recipient: string): OutgoingMessage {
  return { queueId, from: 'a@sender.test', recipients: [recipient], size: BODY.length, extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from([Buffer.from(BODY)]) };
}

const closers: Array<() => Promise<void>> = [];
t.teardown(() => Promise.all(closers.map((close) => close())));

async function countingPeer(options: CountingPeerOptions): Promise<CountingPeer> {
  const peer = await startCountingPeer(options);
  closers.push(() => peer.close());
  return peer;
}

async function sink(options: SinkOptions): Promise<Sink> {
  const started = await startSink(options);
  closers.push(() => started.close());
  return started;
}

interface Shared {
  ctx: DeliveryContext;
  log: CapturedLog;
  clock: { now: number };
}

/** One context for all deliveries (as in the relay process), its backoff on a clock the test moves. */
function shared(connectors: OutboundConnector[], delivery: Partial<{ perHost: number; concurrency: number }> = {}): Shared {
  const config = testConfig({
    queue: { ...testConfig().queue, retry: [MINUTE, 5 * MINUTE] },
    delivery: { ...testConfig().delivery, ...delivery },
    outbound: connectors,
  });
  const clock = { now: T0 };
  const { ctx, log } = testDeliveryContext(config);
  return { ctx: { ...ctx, backoff: new HostBackoff(() => clock.now) }, log, clock };
}

/** Mail for `domains` goes to these loopback ports, in order. */
function via(name: string, domains: string[], ports: number[], fields: Partial<OutboundConnector> = {}): OutboundConnector {
  return testConnector({ name, domains, smartHosts: ports.map((port) => ({ host: '127.0.0.1', port })), ...fields });
}

function only<T>(list: T[]): T {
  if (list.length !== 1) throw new Error(`expected exactly one, got ${list.length}`);
  return list[0] as T;
}

const recipientOf = (results: MessageResult[]) => only(only(results).recipients);
const logged = (log: CapturedLog, msg: string) => log.lines.filter((line) => line.msg === msg);

t.test('a next hop that is down gets one probe per backoff period, and its mail once it is back', async (t) => {
  const peer = await countingPeer({ greeting: 'refuse' });
  const { ctx, log, clock } = shared([via('partner', ['*.partner.test'], [peer.port])]);
  const host = `127.0.0.1:${peer.port}`;
  const refusedText = `451 4.4.0 host 127.0.0.1 refused to talk to me: ${REFUSAL}`;
  const suspendedText = `451 4.4.0 delivery temporarily suspended: host 127.0.0.1 refused to talk to me: ${REFUSAL}`;

  // 20 messages, each for a domain of its own, one after the other
  const first = recipientOf(await deliverDomain('d0.partner.test', [message('Q0', 'u@d0.partner.test')], ctx));
  t.same(first, { address: 'u@d0.partner.test', outcome: 'deferred', code: 451, response: refusedText, notBefore: new Date(T0 + MINUTE).toISOString() });
  for (let n = 1; n < 20; n++) {
    const results = await deliverDomain(`d${n}.partner.test`, [message(`Q${n}`, `u@d${n}.partner.test`)], ctx);
    t.same(recipientOf(results), { address: `u@d${n}.partner.test`, outcome: 'deferred', code: 451, response: suspendedText, notBefore: new Date(T0 + MINUTE).toISOString() });
    t.match(only(only(results).attempts), { host, tls: null, verdict: 'none', outcome: 'deferred', response: suspendedText }, 'the skip is logged as what happened to the message');
  }
  t.equal(peer.connections, 1, 'one connection for 20 messages');
  t.match(logged(log, 'next hop down'), [{ level: 40, host, failures: 1, until: new Date(T0 + MINUTE).toISOString(), reason: refusedText }]);

  clock.now = T0 + MINUTE;
  t.match(recipientOf(await deliverDomain('d0.partner.test', [message('Q0', 'u@d0.partner.test')], ctx)), { response: refusedText, notBefore: new Date(T0 + 6 * MINUTE).toISOString() });
  t.equal(peer.connections, 2, 'the backoff is over: one probe');
  for (let n = 1; n < 5; n++) await deliverDomain(`d${n}.partner.test`, [message(`Q${n}`, `u@d${n}.partner.test`)], ctx);
  t.equal(peer.connections, 2, 'the probe failed: the next step of queue.retry');
  t.match(logged(log, 'next hop down').at(-1), { failures: 2, until: new Date(T0 + 6 * MINUTE).toISOString() });

  peer.greeting = 'ok';
  clock.now = T0 + 6 * MINUTE;
  const probe = recipientOf(await deliverDomain('d0.partner.test', [message('Q0', 'u@d0.partner.test')], ctx));
  t.match(probe, { outcome: 'delivered', code: 250 });
  t.notOk('notBefore' in probe);
  t.match(logged(log, 'next hop up again'), [{ level: 30, host, failures: 2 }]);
  const rest = await Promise.all(Array.from({ length: 19 }, (_, index) => deliverDomain(`d${index + 1}.partner.test`, [message(`Q${index + 1}`, `u@d${index + 1}.partner.test`)], ctx)));
  t.ok(rest.every((results) => recipientOf(results).outcome === 'delivered'), 'then all the others flow');
  t.equal(peer.received.length, 20);
  // the probe's parked session carries one, nine dial (delivery.perHost 10), and the nine
  // left waiting for a slot are handed the sessions of those that finish
  t.equal(peer.connections, 3 + 9);
});

t.test('while the probe is out, nobody else connects; its success lets everyone in', async (t) => {
  const peer = await countingPeer({ greeting: 'refuse' });
  const { ctx, log, clock } = shared([via('partner', ['*.partner.test'], [peer.port])]);
  await deliverDomain('a.partner.test', [message('A', 'u@a.partner.test')], ctx);
  peer.greeting = 'ok';
  peer.holdData = true;
  clock.now = T0 + MINUTE;

  const probe = deliverDomain('a.partner.test', [message('A', 'u@a.partner.test')], ctx);
  await peer.held(1);
  const meanwhile = recipientOf(await deliverDomain('b.partner.test', [message('B', 'u@b.partner.test')], ctx));
  t.match(meanwhile, { outcome: 'deferred', response: /^451 4\.4\.0 delivery temporarily suspended: / });
  t.notOk('notBefore' in meanwhile, 'the period is over, so the schedule alone says when to try again');
  t.equal(peer.connections, 2, 'the failed connection and the probe, nothing else');

  peer.releaseHeld();
  t.match(recipientOf(await probe), { outcome: 'delivered' });
  peer.holdData = false;
  t.match(recipientOf(await deliverDomain('b.partner.test', [message('B', 'u@b.partner.test')], ctx)), { outcome: 'delivered' });
  t.equal(peer.connections, 2, "then the probe's session carries the waiting mail");
  t.equal(logged(log, 'next hop up again').length, 1);
});

t.test('a suspended address is skipped for the next one; the route waits only when all are suspended', async (t) => {
  const down = await countingPeer({ greeting: 'refuse' });
  const up = await sink({ tls: 'none' });
  const { ctx, clock } = shared([via('two', ['two.test'], [down.port, up.port]), via('alone', ['alone.test'], [down.port])]);

  const first = only(await deliverDomain('two.test', [message('Q1', 'u@two.test')], ctx));
  t.match(first.attempts, [{ host: `127.0.0.1:${down.port}`, outcome: 'deferred' }, { host: `127.0.0.1:${up.port}`, outcome: 'delivered' }]);
  const second = only(await deliverDomain('two.test', [message('Q2', 'v@two.test')], ctx));
  t.match(second.attempts, [
    { host: `127.0.0.1:${down.port}`, outcome: 'deferred', response: /^451 4\.4\.0 delivery temporarily suspended: host 127\.0\.0\.1 refused to talk to me: 421 / },
    { host: `127.0.0.1:${up.port}`, outcome: 'delivered' },
  ]);
  t.equal(down.connections, 1, 'the second message did not dial the suspended address');
  t.equal(up.received.length, 2);

  clock.now = T0 + 10_000;
  const alone = recipientOf(await deliverDomain('alone.test', [message('Q3', 'w@alone.test')], ctx));
  t.match(alone, { outcome: 'deferred', notBefore: new Date(T0 + MINUTE).toISOString() }, 'another domain routed to the host shares its backoff');
  t.equal(down.connections, 1);
});

t.test('a connection that drops in mid-session takes the host down', async (t) => {
  const peer = await countingPeer({ greeting: 'ok' });
  const { ctx, log } = shared([via('partner', ['partner.test'], [peer.port])]);
  // the peer vanishes in the middle of the session: every socket cut at DATA
  peer.holdData = true;
  const delivery = deliverDomain('partner.test', [message('Q1', 'u@partner.test'), message('Q2', 'v@partner.test')], ctx);
  await peer.held(1);
  await peer.close();
  const results = await delivery;
  t.match(results.map((result) => only(result.recipients)), [
    { outcome: 'deferred', response: /^451 4\.4\.2 lost connection with host 127\.0\.0\.1: /, notBefore: new Date(T0 + MINUTE).toISOString() },
    { outcome: 'deferred', response: /^451 4\.4\.2 lost connection with host 127\.0\.0\.1: / },
  ]);
  t.match(logged(log, 'next hop down'), [{ failures: 1, reason: /^451 4\.4\.2 lost connection/ }]);
});

t.test('TLS outcomes', async (t) => {
  t.test('a failed handshake suspends the address for that connector only', async (t) => {
    const peer = await sink({ tls: 'broken-handshake' });
    const { ctx, log } = shared([via('forced', ['forced.test'], [peer.port], { tls: 'encrypt' }), via('opportunistic', ['opportunistic.test'], [peer.port])]);
    const first = recipientOf(await deliverDomain('forced.test', [message('F1', 'u@forced.test')], ctx));
    t.match(first, { outcome: 'deferred', code: 450, response: /^450 4\.7\.5 Cannot start TLS: handshake failure: /, notBefore: new Date(T0 + MINUTE).toISOString() });
    const second = recipientOf(await deliverDomain('forced.test', [message('F2', 'v@forced.test')], ctx));
    t.match(second, { outcome: 'deferred', code: 450, response: /^450 4\.7\.5 delivery temporarily suspended: Cannot start TLS: handshake failure: / });
    t.equal(peer.connections, 1, 'the forced connector did not dial again');
    t.match(logged(log, 'next hop down for this connector (TLS handshake)'), [{ host: `127.0.0.1:${peer.port}`, connector: 'forced', failures: 1 }]);
    t.same(logged(log, 'next hop down'), [], 'the host itself is not down');

    const other = recipientOf(await deliverDomain('opportunistic.test', [message('O1', 'w@opportunistic.test')], ctx));
    t.match(other, { outcome: 'delivered' }, 'another connector still goes there (and falls back to plaintext)');
    t.equal(peer.connections, 3);
  });

  t.test('an answer about TLS (not offered, certificate) suspends nothing', async (t) => {
    const peer = await sink({ tls: 'none' });
    const { ctx, log } = shared([via('forced', ['forced.test'], [peer.port], { tls: 'encrypt' })]);
    for (const id of ['F1', 'F2']) {
      const result = recipientOf(await deliverDomain('forced.test', [message(id, 'u@forced.test')], ctx));
      t.same(result, { address: 'u@forced.test', outcome: 'deferred', code: 450, response: '450 4.7.4 TLS is required, but was not offered by host 127.0.0.1' });
    }
    t.equal(peer.connections, 2, 'each delivery asks the host again');
    t.same(log.lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('next hop')), []);
  });
});

/** Lets the held sessions finish, `cap` at a time, until `total` messages went through. */
async function releaseInTurns(peer: CountingPeer, cap: number, total: number): Promise<void> {
  for (let released = 0; released < total; ) {
    await peer.held(Math.min(cap, total - released));
    released += peer.releaseHeld();
  }
}

t.test('delivery.perHost: at most that many connections to one address, across domains', async (t) => {
  const peer = await countingPeer({ greeting: 'ok', holdData: true });
  const { ctx } = shared([via('partner', ['*.partner.test'], [peer.port])], { perHost: 2 });
  const deliveries = Array.from({ length: 5 }, (_, n) => deliverDomain(`d${n}.partner.test`, [message(`Q${n}`, `u@d${n}.partner.test`)], ctx));
  await peer.held(2);
  t.equal(peer.connections, 2, 'two sessions held open, the other three wait for a slot');
  await releaseInTurns(peer, 2, 5);
  const results = await Promise.all(deliveries);
  t.ok(results.every((result) => recipientOf(result).outcome === 'delivered'));
  t.equal(peer.connections, 2, 'those that waited for a slot were handed the sessions of those that finished');
  t.equal(peer.maxActive, 2);
});

t.test('delivery.concurrency bounds connections in all, whatever their addresses', async (t) => {
  const peer = await countingPeer({ greeting: 'ok', holdData: true, listeners: 2 });
  const [one, two] = peer.ports;
  const { ctx } = shared([via('one', ['*.one.test'], [one!]), via('two', ['*.two.test'], [two!])], { concurrency: 2, perHost: 10 });
  const domains = ['a.one.test', 'a.two.test', 'b.one.test', 'b.two.test', 'c.one.test'];
  const deliveries = domains.map((domain, n) => deliverDomain(domain, [message(`Q${n}`, `u@${domain}`)], ctx));
  await peer.held(2);
  t.equal(peer.connections, 2, 'two sessions held open, the others wait for a slot');
  await releaseInTurns(peer, 2, domains.length);
  const results = await Promise.all(deliveries);
  t.ok(results.every((result) => recipientOf(result).outcome === 'delivered'));
  t.equal(peer.connections, 2, 'those that waited were handed the finished sessions to their address');
  t.equal(peer.maxActive, 2);
});
