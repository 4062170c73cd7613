// REQUIRETLS (RFC 8689) on the outbound side: deliverDomain against real next hops on
// loopback (smtp-server with and without REQUIRETLS, certificates from a test CA or
// self-signed), one domain's hosts tried in order. A REQUIRETLS message goes only over a
// session that authenticated the next hop and heard REQUIRETLS in its EHLO, with the
// keyword on MAIL FROM; any other host is skipped; when none is left it bounces 5.7.30 —
// unless a host deferred. Ordinary messages to the same hosts go as they always did.
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import type { OutboundConnector, TlsLevel } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import type { MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import { startSink, type Sink, type SinkOptions } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';

const BODY = 'Subject: requiretls\r\n\r\nHello.\r\n';
const HOST = '127.0.0.1';

const ca = await makeCa('requiretls test CA');
const trusted = await makeCert({ names: ['mx.partner.test'], ips: [HOST], ca });
const selfSigned = await makeCert({ names: ['mx.partner.test'], ips: [HOST] });

function message(queueId: string, recipient: string, requireTls: boolean): OutgoingMessage {
  return {
    queueId,
    from: 'a@sender.test',
    recipients: [recipient],
    size: BODY.length,
    extensions: { smtputf8: 'none', eightBitMime: 'none' },
    ...(requireTls ? { requireTls: true as const } : {}),
    openData: () => Readable.from([Buffer.from(BODY)]),
  };
}

async function hop(t: Test, options: SinkOptions): Promise<Sink> {
  const sink = await startSink(options);
  t.teardown(() => sink.close());
  return sink;
}

/** One connector for partner.test over the given hops, in order. */
function delivery(t: Test, tls: TlsLevel, hops: Sink[]) {
  const connector: OutboundConnector = testConnector({ name: 'partner', domains: ['partner.test'], smartHosts: hops.map((sink) => ({ host: HOST, port: sink.port })), tls });
  const context = testDeliveryContext(testConfig({ outbound: [connector] }), { extraCa: [ca.cert] });
  t.teardown(() => context.ctx.sessions.closeAll());
  return context;
}

const attemptsOf = (lines: Array<Record<string, unknown>>, queueId: string) => lines.filter((line) => line.msg === 'delivery attempt' && line.queueId === queueId);
const finalOf = (results: MessageResult[], queueId: string) => results.find((result) => result.queueId === queueId)?.recipients[0];

t.test('verify: the host without REQUIRETLS takes the ordinary message and is skipped for the REQUIRETLS one, which the next host takes with the keyword', async (t) => {
  const without = await hop(t, { tls: 'starttls', cert: trusted });
  const capable = await hop(t, { tls: 'starttls', cert: trusted, requireTls: true });
  const { ctx, log, transit } = delivery(t, 'verify', [without, capable]);

  const results = await deliverDomain('partner.test', [message('ORD', 'o@partner.test', false), message('RTLS', 'r@partner.test', true)], ctx);

  t.match(finalOf(results, 'ORD'), { outcome: 'delivered' });
  t.match(finalOf(results, 'RTLS'), { outcome: 'delivered' });
  t.same(without.received.map((m) => [m.to, m.requireTls]), [[['o@partner.test'], false]], 'the first host got the ordinary message only, without the keyword');
  t.same(capable.received.map((m) => [m.to, m.secure, m.requireTls]), [[['r@partner.test'], true, true]], 'the REQUIRETLS message went inside TLS with REQUIRETLS on MAIL FROM');

  const ordinary = attemptsOf(log.lines, 'ORD');
  t.match(ordinary, [{ outcome: 'delivered' }]);
  t.notOk('requireTls' in ordinary[0]!, 'an ordinary message says nothing of REQUIRETLS');
  t.match(attemptsOf(log.lines, 'RTLS'), [
    { host: `${HOST}:${without.port}`, outcome: 'bounced', code: 550, response: `550 5.7.30 REQUIRETLS support required: host ${HOST} does not advertise REQUIRETLS`, verdict: 'verified', requireTls: 'not-advertised' },
    { host: `${HOST}:${capable.port}`, outcome: 'delivered', verdict: 'verified', requireTls: 'met' },
  ]);
  t.match(
    transit.map((record) => [record.port, record.requireTls, record.messages, record.delivered]),
    [
      [without.port, 'not-advertised', 2, 1],
      [capable.port, 'met', 1, 1],
    ],
    'each session says what it was for REQUIRETLS',
  );
});

t.test('opportunistic: an untrusted certificate and a plaintext host are both skipped; with none left the message bounces 5.7.30, the ordinary one is delivered', async (t) => {
  const untrusted = await hop(t, { tls: 'starttls', cert: selfSigned, requireTls: true });
  const plain = await hop(t, { tls: 'none' });
  const { ctx, log, transit } = delivery(t, 'opportunistic', [untrusted, plain]);

  const results = await deliverDomain('partner.test', [message('RTLS', 'r@partner.test', true), message('ORD', 'o@partner.test', false)], ctx);

  t.match(finalOf(results, 'RTLS'), { outcome: 'bounced', code: 550, response: `550 5.7.30 REQUIRETLS support required: the session with host ${HOST} is not encrypted` });
  t.match(finalOf(results, 'ORD'), { outcome: 'delivered' });
  t.same(untrusted.received.map((m) => m.to), [['o@partner.test']], 'opportunistic TLS took the ordinary message, as always');
  t.same(plain.received, [], 'the REQUIRETLS message never travelled without it');
  t.match(attemptsOf(log.lines, 'RTLS'), [
    { outcome: 'bounced', verdict: 'untrusted', requireTls: 'not-authenticated', response: /^550 5\.7\.30 REQUIRETLS support required: the certificate of host 127\.0\.0\.1 was not authenticated/ },
    { outcome: 'bounced', verdict: 'none', tls: null, requireTls: 'no-tls' },
  ]);
  t.match(
    transit.map((record) => record.requireTls),
    ['not-authenticated', 'no-tls'],
  );
});

t.test('a host that defers keeps the message queued: it may qualify next time', async (t) => {
  // verify refuses the self-signed certificate (4.7.5) before REQUIRETLS is judged
  const failsVerify = await hop(t, { tls: 'starttls', cert: selfSigned, requireTls: true });
  const without = await hop(t, { tls: 'starttls', cert: trusted });
  const { ctx, log, transit } = delivery(t, 'verify', [failsVerify, without]);

  const results = await deliverDomain('partner.test', [message('RTLS', 'r@partner.test', true)], ctx);

  t.match(finalOf(results, 'RTLS'), { outcome: 'deferred', code: 450, response: /^450 4\.7\.5 Server certificate not verified for host 127\.0\.0\.1: self-signed certificate/ });
  t.match(attemptsOf(log.lines, 'RTLS'), [
    { outcome: 'deferred', requireTls: 'no-session' },
    { outcome: 'bounced', requireTls: 'not-advertised' },
  ]);
  t.match(
    transit.map((record) => record.requireTls),
    ['no-session', 'not-advertised'],
  );
  t.same([...failsVerify.received, ...without.received], [], 'nothing was delivered');
});

t.test('a parked session is judged again: one that falls short never carries a REQUIRETLS message, one that qualifies does', async (t) => {
  const without = await hop(t, { tls: 'starttls', cert: trusted });
  const { ctx, log, transit } = delivery(t, 'verify', [without]);
  t.match(finalOf(await deliverDomain('partner.test', [message('ORD', 'o@partner.test', false)], ctx), 'ORD'), { outcome: 'delivered' });
  const reusedFinal = finalOf(await deliverDomain('partner.test', [message('RTLS', 'r@partner.test', true)], ctx), 'RTLS');
  t.match(reusedFinal, { outcome: 'bounced', response: /^550 5\.7\.30 .*does not advertise REQUIRETLS$/ });
  t.equal(without.connections, 1, 'the second delivery took the parked session');
  t.match(transit.at(-1), { reused: true, requireTls: 'not-advertised', delivered: 0 });
  t.same(without.received.map((m) => m.to), [['o@partner.test']]);

  const capable = await hop(t, { tls: 'starttls', cert: trusted, requireTls: true });
  const second = delivery(t, 'verify', [capable]);
  await deliverDomain('partner.test', [message('ORD2', 'o@partner.test', false)], second.ctx);
  t.match(finalOf(await deliverDomain('partner.test', [message('RTLS2', 'r@partner.test', true)], second.ctx), 'RTLS2'), { outcome: 'delivered' });
  t.equal(capable.connections, 1, 'a qualifying parked session carries it');
  t.match(second.transit.at(-1), { reused: true, requireTls: 'met', delivered: 1 });
  t.same(capable.received.map((m) => m.requireTls), [false, true], 'the keyword only on the REQUIRETLS message');
  t.match(attemptsOf(log.lines, 'RTLS'), [{ requireTls: 'not-advertised' }]);
});

t.test('skipped before anything is sent: a next hop that refuses STARTTLS and hangs up still gets the ordinary message by the plaintext fallback', async (t) => {
  // the REQUIRETLS message first: were it skipped in turn, the ordinary one would meet a
  // closed session at its RSET and reconnect for ever, instead of falling back
  const refusing = await hop(t, { tls: 'refuse-starttls-and-close' });
  const { ctx, log } = delivery(t, 'opportunistic', [refusing]);

  const results = await deliverDomain('partner.test', [message('RTLS', 'r@partner.test', true), message('ORD', 'o@partner.test', false)], ctx);

  t.match(finalOf(results, 'ORD'), { outcome: 'delivered' });
  t.match(finalOf(results, 'RTLS'), { outcome: 'bounced', response: /^550 5\.7\.30 .* is not encrypted$/ });
  t.same(refusing.received.map((m) => [m.to, m.starttls, m.requireTls]), [[['o@partner.test'], false, false]], 'the ordinary message in plaintext, on the fallback connection');
  t.equal(refusing.connections, 2);
  t.match(
    attemptsOf(log.lines, 'RTLS'),
    [
      { requireTls: 'no-tls', outcome: 'bounced' },
      { requireTls: 'no-session', outcome: 'deferred', response: /; retrying in plaintext$/ },
      { requireTls: 'no-tls', outcome: 'bounced' },
    ],
    'skipped on each of the two connections; the hang-up between is an attempt of its own, as for every message',
  );
});
