// Which connections become transit records, and what a record of several messages says:
// deliverDomain against real next hops on loopback, the records caught by the test's
// delivery context (testDeliveryContext) where the relay hands them to its writer.
import { Readable } from 'node:stream';
import t from 'tap';
import type { OutboundConnector } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import type { OutgoingMessage } from '../../src/outbound/types.js';
import { startSink } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';

const BODY = 'Subject: transit\r\n\r\nHello.\r\n';

function message(queueId: string, recipients: string[], fields: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { queueId, from: 'a@sender.test', recipients, size: BODY.length, extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from([Buffer.from(BODY)]), ...fields };
}

function via(domain: string, port: number, fields: Partial<OutboundConnector> = {}): OutboundConnector {
  return testConnector({ name: domain.replace('.test', ''), domains: [domain], smartHosts: [{ host: '127.0.0.1', port }], ...fields });
}

t.test('one record for a session of several messages; the next delivery over the parked session is a record of its own', async (t) => {
  const sink = await startSink({ tls: 'none', rcptReplies: { 'gone@a.test': '550 5.1.1 No such user', 'later@a.test': '451 4.2.0 Try again later' } });
  t.teardown(() => sink.close());
  const { ctx, log, transit } = testDeliveryContext(testConfig({ outbound: [via('a.test', sink.port, { tls: 'none' })] }));
  t.teardown(() => ctx.sessions.closeAll());

  await deliverDomain('a.test', [message('M1', ['u@a.test']), message('M2', ['gone@a.test']), message('M3', ['v@a.test'])], ctx);
  t.equal(sink.connections, 1);
  t.equal(transit.length, 1, 'three messages, one session, one record');
  t.match(transit[0], {
    v: 1,
    domain: 'a.test',
    connector: 'a',
    host: '127.0.0.1',
    ip: '127.0.0.1',
    port: sink.port,
    sourceIp: '127.0.0.1',
    reused: false,
    policy: { source: 'none' },
    tls: null,
    verdict: 'none',
    failure: null,
    outcome: 'bounced',
    reply: '550 5.1.1 No such user',
    messages: 3,
    delivered: 2,
  }, 'the outcome is the message that was not delivered');
  const attempts = log.lines.filter((line) => line.msg === 'delivery attempt');
  t.equal(attempts.length, 3, 'the attempt lines stay, one per message');
  t.ok(Date.parse(transit[0]!.at) <= Date.parse(String(attempts[0]!.time)), 'the record is dated when the session began, before its first attempt');

  await deliverDomain('a.test', [message('M4', ['gone@a.test']), message('M5', ['later@a.test'])], ctx);
  t.equal(sink.connections, 1, 'the parked session carried the second delivery');
  t.equal(transit.length, 2);
  t.match(transit[1], { reused: true, sourceIp: '127.0.0.1', outcome: 'deferred', reply: '451 4.2.0 Try again later', messages: 2, delivered: 0 }, 'a deferral is named before a bounce');
  t.notOk('tlsReports' in transit[0]! || 'tlsReports' in transit[1]!, 'no TLS report among them: the field is left out');
});

t.test("the relay's own TLS reports are counted apart in the record of their session", async (t) => {
  const sink = await startSink({ tls: 'none' });
  t.teardown(() => sink.close());
  const { ctx, transit } = testDeliveryContext(testConfig({ outbound: [via('reports.test', sink.port, { tls: 'none' })] }));
  t.teardown(() => ctx.sessions.closeAll());
  await deliverDomain('reports.test', [message('R1', ['tlsrpt@reports.test'], { tlsReport: true }), message('R2', ['u@reports.test'])], ctx);
  t.match(transit, [{ messages: 2, delivered: 2, tlsReports: 1 }]);
  await deliverDomain('reports.test', [message('R3', ['tlsrpt@reports.test'], { tlsReport: true })], ctx);
  t.match(transit[1], { reused: true, messages: 1, tlsReports: 1 }, 'a session of reports only');
});

t.test('a next hop that never answers makes attempts but no session', async (t) => {
  const { ctx, log, transit } = testDeliveryContext(testConfig({ outbound: [via('down.test', await freePort(), { tls: 'none' })] }));
  await deliverDomain('down.test', [message('D1', ['u@down.test'])], ctx);
  t.match(log.lines.filter((line) => line.msg === 'delivery attempt'), [{ outcome: 'deferred', response: /^451 4\.4\.1 connect to 127\.0\.0\.1: / }]);
  t.same(transit, [], 'no record: nothing was learnt about its TLS');
});

t.test('a session refused by the policy is a record with what failed', async (t) => {
  const sink = await startSink({ tls: 'none' });
  t.teardown(() => sink.close());
  const { ctx, transit } = testDeliveryContext(testConfig({ outbound: [via('forced.test', sink.port, { tls: 'encrypt' })] }));
  await deliverDomain('forced.test', [message('F1', ['u@forced.test']), message('F2', ['v@forced.test'])], ctx);
  t.equal(sink.received.length, 0);
  t.match(transit, [
    {
      policy: { source: 'connector', level: 'encrypt' },
      tls: null,
      verdict: 'none',
      failure: 'starttls-not-supported',
      sourceIp: '127.0.0.1',
      outcome: 'deferred',
      reply: `450 4.7.4 TLS is required, but was not offered by host 127.0.0.1`,
      messages: 2,
      delivered: 0,
    },
  ]);
  t.equal(transit.length, 1);
});
