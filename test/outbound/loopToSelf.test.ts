import { Readable } from 'node:stream';
import t from 'tap';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import { namedAsMyself, ownListenerAt, type Interfaces, type OwnListener, type ThisHost } from '../../src/outbound/loopDetection.js';
import type { MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import { startSink, type Sink } from '../helpers/peers.js';
import { startScriptedNextHop, type ScriptedNextHop, type ScriptedNextHopOptions } from '../helpers/scriptedNextHop.js';
import { testConfig, testConnector, testDeliveryContext, type CapturedLog } from '../helpers/testConfig.js';

// testConfig's server.hostname is relay.test: a next hop elsewhere that calls itself that is this relay.

const INTERFACES: Interfaces = {
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
  ],
  eth0: [
    { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.0.2.2/24' },
    { address: '2001:db8::2', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: '2001:db8::2/64', scopeid: 0 },
  ],
};

t.test('a next hop at one of our listeners is this relay', async (t) => {
  const listeners: OwnListener[] = [
    { name: 'loopback', address: '127.0.0.1', port: 2525 },
    { name: 'mx', address: '0.0.0.0', port: 25 },
    { name: 'submission', address: '::', port: 587 },
    { name: 'v6', address: '::1', port: 2626 },
  ];
  const cases: Array<[address: string, port: number, listener: string | undefined]> = [
    ['127.0.0.1', 2525, 'loopback'],
    ['::ffff:127.0.0.1', 2525, 'loopback'],
    ['127.0.0.2', 2525, undefined], // bound to 127.0.0.1 only: nothing answers there
    ['127.0.0.1', 2524, undefined],
    ['192.0.2.2', 25, 'mx'], // 0.0.0.0: every local IPv4 address
    ['127.0.0.53', 25, 'mx'], // the whole loopback subnet is local
    ['0.0.0.0', 25, 'mx'],
    ['192.0.2.3', 25, undefined], // another host on our subnet
    ['198.51.100.7', 25, undefined],
    ['::1', 25, undefined], // 0.0.0.0 takes no IPv6
    ['2001:db8::2', 587, 'submission'], // `::` takes both families
    ['192.0.2.2', 587, 'submission'],
    ['0:0:0:0:0:0:0:1', 587, 'submission'],
    ['2001:db8::3', 587, undefined],
    ['0:0:0:0:0:0:0:1', 2626, 'v6'],
    ['::2', 2626, undefined],
  ];
  for (const [address, port, listener] of cases) {
    t.equal(ownListenerAt(address, port, { listeners, interfaces: () => INTERFACES })?.name, listener, `${address} port ${port}: ${listener ?? 'not ours'}`);
  }
});

t.test('a server elsewhere that names itself with our hostname is this relay, case and a trailing dot aside', async (t) => {
  const host: ThisHost = { listeners: [], interfaces: () => INTERFACES };
  t.match(namedAsMyself('198.51.100.7', [{ reply: 'greeting', name: 'mx.other.test' }, { reply: 'EHLO', name: 'RELAY.Test.' }], 'relay.test', host), { reply: 'EHLO' });
  t.equal(namedAsMyself('198.51.100.7', [{ reply: 'greeting', name: 'relay.test.other' }, { reply: 'HELO', name: '[127.0.0.1]' }], 'relay.test', host), undefined);
  // on this host our listeners tell what is ours: another MTA here may share the host's name
  for (const address of ['127.0.0.1', '192.0.2.2', '::1', '::ffff:192.0.2.2']) {
    t.equal(namedAsMyself(address, [{ reply: 'EHLO', name: 'relay.test' }], 'relay.test', host), undefined, `${address} is this host`);
  }
});

const BODY = 'Subject: loop\r\n\r\nbody\r\n';
const message = (): OutgoingMessage => ({ queueId: 'Q1', from: 'a@sender.test', recipients: ['b@dest.test'], size: BODY.length, extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from([Buffer.from(BODY)]) });
const LOOP = '450 4.4.6 mail for dest.test loops back to myself';

const peers: Array<Sink | ScriptedNextHop> = [];
t.teardown(() => Promise.all(peers.map((peer) => peer.close())));

async function scripted(options: Omit<ScriptedNextHopOptions, 'starttls'> & Partial<Pick<ScriptedNextHopOptions, 'starttls'>>): Promise<ScriptedNextHop> {
  const hop = await startScriptedNextHop({ starttls: { kind: 'handshake' }, ...options });
  peers.push(hop);
  return hop;
}

async function sink(): Promise<Sink> {
  const started = await startSink({ tls: 'none' });
  peers.push(started);
  return started;
}

/** This host's interfaces without loopback: the test's peers on 127.0.0.1 stand for servers elsewhere. */
const ELSEWHERE: Interfaces = { eth0: INTERFACES.eth0 };

/** Delivers to dest.test over the smart hosts on these loopback ports, in order. */
async function deliverVia(ports: number[], listeners: OwnListener[] = [], interfaces = ELSEWHERE): Promise<{ result: MessageResult; log: CapturedLog }> {
  const config = testConfig({ outbound: [testConnector({ name: 'dest', domains: ['dest.test'], smartHosts: ports.map((port) => ({ host: '127.0.0.1', port })) })] });
  const { ctx, log } = testDeliveryContext(config);
  const [result] = await deliverDomain('dest.test', [message()], { ...ctx, thisHost: { listeners, interfaces: () => interfaces } });
  return { result: result!, log };
}

function warnings(log: CapturedLog): unknown[] {
  return log.lines.filter((line) => line.msg === 'mail loops back to myself: the next hop is this relay').map((line) => line.evidence);
}

t.test('a server naming itself with our hostname gets no MAIL; the message is deferred with 4.4.6', async (t) => {
  const cases: Array<[what: string, options: Parameters<typeof scripted>[0], evidence: RegExp]> = [
    ['in its greeting', { greeting: '220 RELAY.TEST ESMTP ready\r\n' }, /^host 127\.0\.0\.1 greeted me with my own hostname RELAY\.TEST$/],
    ['in its EHLO reply', { name: 'relay.test' }, /^host 127\.0\.0\.1 replied to EHLO with my own hostname relay\.test$/],
    ['only in its EHLO inside TLS', { name: 'relay.test', ehlo: '250-other.test\r\n250-STARTTLS\r\n250 HELP' }, /^host 127\.0\.0\.1 replied to EHLO with my own hostname relay\.test$/],
    ['in its HELO reply, after refusing EHLO', { ehlo: '502 5.5.2 No EHLO here', helo: '250 relay.test.' }, /^host 127\.0\.0\.1 replied to HELO with my own hostname relay\.test\.$/],
  ];
  for (const [what, options, evidence] of cases) {
    const hop = await scripted(options);
    const { result, log } = await deliverVia([hop.port]);
    t.match(result.recipients, [{ address: 'b@dest.test', outcome: 'deferred', code: 450, response: LOOP }], `${what}: deferred`);
    t.match(result.attempts, [{ host: `127.0.0.1:${hop.port}`, outcome: 'deferred', response: LOOP, tls: null, verdict: 'none' }]);
    t.equal(hop.commands.filter((command) => command.verb === 'MAIL').length, 0, `${what}: no MAIL was sent`);
    await hop.closed(1);
    t.ok(hop.commands.some((command) => command.verb === 'QUIT'), `${what}: the session ended with QUIT`);
    t.match(warnings(log), [evidence], `${what}: a warning with the evidence`);
  }
});

t.test('a next hop at our own listener is not even dialled', async (t) => {
  const ours = await sink();
  const { result, log } = await deliverVia([ours.port], [{ name: 'smtp', address: '0.0.0.0', port: ours.port }], INTERFACES);
  t.match(result.recipients, [{ outcome: 'deferred', code: 450, response: LOOP }]);
  t.match(result.attempts, [{ host: `127.0.0.1:${ours.port}`, response: LOOP }]);
  t.equal(ours.connections, 0, 'no connection was made');
  t.same(warnings(log), [`host 127.0.0.1 is this relay: its listener "smtp" (0.0.0.0:${ours.port})`]);
});

t.test('the other hosts of the route are still tried', async (t) => {
  const greetsAsUs = await scripted({ greeting: '220 relay.test ESMTP\r\n' });
  const ours = await sink();
  const other = await sink();
  const { result } = await deliverVia([greetsAsUs.port, ours.port, other.port], [{ name: 'smtp', address: '127.0.0.1', port: ours.port }]);
  t.match(result.recipients, [{ outcome: 'delivered', code: 250 }], 'delivered by the host that is not us');
  t.match(result.attempts, [{ response: LOOP }, { response: LOOP }, { outcome: 'delivered', host: `127.0.0.1:${other.port}` }]);
  t.equal(other.received.length, 1);
});

t.test('a server on this host with our name is another MTA beside us, not a loop', async (t) => {
  const hop = await scripted({ name: 'relay.test' });
  const { result, log } = await deliverVia([hop.port], [], INTERFACES);
  t.match(result.recipients, [{ outcome: 'delivered' }]);
  t.same(warnings(log), []);
});

t.test('another name in the greeting and EHLO is no loop', async (t) => {
  const hop = await scripted({ greeting: '220 mx.dest.test ESMTP relay.test\r\n' });
  const { result, log } = await deliverVia([hop.port]);
  t.match(result.recipients, [{ outcome: 'delivered' }], 'our name later in the greeting is not its name');
  t.same(warnings(log), []);
});
