import { createServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createHash, X509Certificate } from 'node:crypto';
import t from 'tap';
import type { OutboundConnector } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import type { OutgoingDsn } from '../../src/outbound/dsnParameters.js';
import type { MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import { startDnsServer, type DnsTable } from '../helpers/dnsServer.js';
import { startSink, type Sink, type SinkOptions } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { startScriptedNextHop } from '../helpers/scriptedNextHop.js';
import { servedCertificate, testConfig, testConnector, testDeliveryContext, type CapturedLog } from '../helpers/testConfig.js';
import { until } from '../helpers/until.js';

const BODY = 'From: a@sender.test\r\nTo: b@dest.test\r\nSubject: hello\r\n\r\nHello there.\r\n.leading dot\r\n';

function message(queueId: string, recipients: string[], body = BODY): OutgoingMessage {
  return { queueId, from: 'a@sender.test', recipients, size: Buffer.byteLength(body), extensions: { smtputf8: 'none', eightBitMime: 'none' }, openData: () => Readable.from([Buffer.from(body)]) };
}

const ca = await makeCa();
const caSigned = await makeCert({ names: ['mx.dest.test'], ips: ['127.0.0.1'], ca });

const sinks: Sink[] = [];
t.teardown(() => Promise.all(sinks.map((sink) => sink.close())));

async function sink(options: SinkOptions): Promise<Sink> {
  const started = await startSink(options);
  sinks.push(started);
  return started;
}

/** A port nothing listens on: listen, note the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Run {
  results: MessageResult[];
  log: CapturedLog;
}

/** Delivers to dest.test through a connector whose smart hosts are the given loopback ports. */
async function deliverVia(ports: number[], connector: Partial<OutboundConnector>, messages = [message('Q1', ['b@dest.test'])]): Promise<Run> {
  const config = testConfig({
    outbound: [testConnector({ name: 'dest', domains: ['dest.test'], smartHosts: ports.map((port) => ({ host: '127.0.0.1', port })), ...connector })],
  });
  const { ctx, log } = testDeliveryContext(config, { extraCa: [ca.cert] });
  return { results: await deliverDomain('dest.test', messages, ctx), log };
}

const HOST = '127.0.0.1';

function only<T>(list: T[]): T {
  if (list.length !== 1) throw new Error(`expected exactly one, got ${list.length}`);
  return list[0] as T;
}

t.test('level none never sends STARTTLS', async (t) => {
  for (const tls of ['none', 'starttls', 'broken-handshake'] as const) {
    const peer = await sink({ tls });
    const { results } = await deliverVia([peer.port], { tls: 'none' });
    const result = only(results);
    t.match(result.recipients, [{ address: 'b@dest.test', outcome: 'delivered', code: 250 }], `${tls}: delivered`);
    t.match(only(result.attempts), { tls: null, verdict: 'none', outcome: 'delivered', tlsLevel: 'none', host: `${HOST}:${peer.port}` });
    t.equal(only(peer.received).secure, false, `${tls}: in plaintext`);
    t.equal(peer.connections, 1);
  }
});

t.test('opportunistic', async (t) => {
  t.test('no STARTTLS offered: plaintext', async (t) => {
    const peer = await sink({ tls: 'none' });
    const result = only((await deliverVia([peer.port], {})).results);
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.match(only(result.attempts), { tls: null, verdict: 'none', outcome: 'delivered' });
    t.equal(only(peer.received).secure, false);
  });

  t.test('STARTTLS with an untrusted certificate: delivered over TLS 1.3, verdict untrusted', async (t) => {
    const peer = await sink({ tls: 'starttls' });
    const result = only((await deliverVia([peer.port], {})).results);
    t.match(result.recipients, [{ outcome: 'delivered', code: 250 }]);
    t.match(only(result.attempts), { tls: { protocol: 'TLSv1.3', cipher: String }, verdict: 'untrusted', outcome: 'delivered' });
    const received = only(peer.received);
    t.equal(received.secure, true);
    t.equal(received.protocol, 'TLSv1.3');
    t.equal(received.data, BODY, 'the message arrives byte for byte (dot-stuffing undone by the peer)');
    t.same([received.from, received.to], ['a@sender.test', ['b@dest.test']]);
  });

  t.test('a peer limited to TLS 1.2 gets TLS 1.2', async (t) => {
    const peer = await sink({ tls: 'starttls', maxVersion: 'TLSv1.2' });
    const result = only((await deliverVia([peer.port], {})).results);
    t.match(only(result.attempts), { tls: { protocol: 'TLSv1.2' }, outcome: 'delivered' });
    t.equal(only(peer.received).protocol, 'TLSv1.2');
  });

  t.test('handshake fails: a new connection in plaintext', async (t) => {
    const peer = await sink({ tls: 'broken-handshake' });
    const result = only((await deliverVia([peer.port], {})).results);
    t.match(result.recipients, [{ outcome: 'delivered', code: 250 }]);
    t.equal(result.attempts.length, 2, 'the broken TLS connection and the plaintext one');
    t.match(result.attempts[0], { outcome: 'deferred', code: 450, tls: null, verdict: 'none' });
    t.match(result.attempts[0]?.response, /^450 4\.7\.5 Cannot start TLS: handshake failure: .+; retrying in plaintext$/);
    t.match(result.attempts[1], { outcome: 'delivered', tls: null, verdict: 'none' });
    t.equal(peer.connections, 2);
    t.equal(only(peer.received).secure, false);
  });

  t.test('handshake fails without plaintextFallback: deferred, nothing sent', async (t) => {
    const peer = await sink({ tls: 'broken-handshake' });
    const result = only((await deliverVia([peer.port], { plaintextFallback: false })).results);
    const recipient = only(result.recipients);
    t.equal(recipient.outcome, 'deferred');
    t.equal(recipient.code, 450);
    t.match(recipient.response, /^450 4\.7\.5 Cannot start TLS: handshake failure: \S/);
    t.equal(peer.connections, 1);
    t.same(peer.received, []);
  });

  t.test('STARTTLS refused with 454: plaintext on the same connection', async (t) => {
    const peer = await sink({ tls: 'refuse-starttls' });
    const result = only((await deliverVia([peer.port], {})).results);
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.match(only(result.attempts), { outcome: 'delivered', verdict: 'none', tls: null });
    t.equal(peer.connections, 1);
    t.equal(only(peer.received).secure, false);
  });

  t.test('STARTTLS refused and the server hangs up: plaintext on a new connection', async (t) => {
    const peer = await sink({ tls: 'refuse-starttls-and-close' });
    const result = only((await deliverVia([peer.port], {})).results);
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.equal(result.attempts[0]?.response, `450 4.7.5 Cannot start TLS: host ${HOST} refused to start TLS and closed the connection: 454 4.7.0 TLS not available due to local problem; retrying in plaintext`);
    t.match(result.attempts[1], { outcome: 'delivered' });
    // the peer of the plaintext connection refuses again, but it is never asked
    t.equal(peer.connections, 2);
    t.equal(peer.received.length, 1);
  });
});

t.test('encrypt', async (t) => {
  t.test('no STARTTLS offered: deferred 4.7.4 without MAIL', async (t) => {
    const peer = await sink({ tls: 'none' });
    const { results, log } = await deliverVia([peer.port], { tls: 'encrypt' });
    const result = only(results);
    t.same(result.recipients, [{ address: 'b@dest.test', outcome: 'deferred', code: 450, response: `450 4.7.4 TLS is required, but was not offered by host ${HOST}` }]);
    t.match(only(result.attempts), { outcome: 'deferred', code: 450, verdict: 'none', tls: null, tlsLevel: 'encrypt', connector: 'dest' });
    t.same(peer.received, []);
    t.equal(only(log.lines).response, `450 4.7.4 TLS is required, but was not offered by host ${HOST}`);
  });

  t.test('STARTTLS with any certificate: delivered over TLS', async (t) => {
    const peer = await sink({ tls: 'starttls' });
    const result = only((await deliverVia([peer.port], { tls: 'encrypt' })).results);
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.match(only(result.attempts), { verdict: 'untrusted', tls: { protocol: 'TLSv1.3' } });
    t.equal(only(peer.received).secure, true);
  });

  t.test('handshake fails: deferred 4.7.5, no plaintext retry', async (t) => {
    const peer = await sink({ tls: 'broken-handshake' });
    const result = only((await deliverVia([peer.port], { tls: 'encrypt' })).results);
    t.match(only(result.recipients), { outcome: 'deferred', code: 450, response: /^450 4\.7\.5 Cannot start TLS: handshake failure: \S/ });
    t.equal(peer.connections, 1);
    t.same(peer.received, []);
  });

  t.test('STARTTLS refused: deferred 4.7.5 with the reply', async (t) => {
    const peer = await sink({ tls: 'refuse-starttls' });
    const result = only((await deliverVia([peer.port], { tls: 'encrypt' })).results);
    t.same(only(result.recipients).response, `450 4.7.5 TLS is required, but host ${HOST} refused to start TLS: 454 4.7.0 TLS not available due to local problem`);
    t.same(peer.received, []);
  });

  t.test('minVersion is a floor: a TLS 1.2 peer fails a TLS 1.3 connector', async (t) => {
    const peer = await sink({ tls: 'starttls', maxVersion: 'TLSv1.2' });
    const result = only((await deliverVia([peer.port], { tls: 'encrypt', minVersion: 'TLSv1.3' })).results);
    t.match(only(result.recipients), { outcome: 'deferred', response: /^450 4\.7\.5 Cannot start TLS: handshake failure: / });
    t.same(peer.received, []);
  });
});

t.test('certificate levels judge before MAIL', async (t) => {
  t.test('verify-ca rejects a self-signed certificate', async (t) => {
    const peer = await sink({ tls: 'starttls' });
    const result = only((await deliverVia([peer.port], { tls: 'verify-ca' })).results);
    t.match(only(result.recipients), { outcome: 'deferred', code: 450, response: `450 4.7.5 Server certificate not verified for host ${HOST}: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)` });
    t.match(only(result.attempts), { verdict: 'untrusted', tls: { protocol: 'TLSv1.3' } });
    t.same(peer.received, []);
  });

  t.test('verify accepts a trusted certificate naming the IP dialled', async (t) => {
    const peer = await sink({ tls: 'starttls', cert: caSigned });
    const result = only((await deliverVia([peer.port], { tls: 'verify' })).results);
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.match(only(result.attempts), { verdict: 'verified' });
  });

  t.test('verify with tlsNames the certificate lacks: deferred, verdict trusted', async (t) => {
    const peer = await sink({ tls: 'starttls', cert: caSigned });
    const result = only((await deliverVia([peer.port], { tls: 'verify', tlsNames: ['mail.other.test'] })).results);
    t.match(only(result.recipients), {
      outcome: 'deferred',
      response: `450 4.7.5 Server certificate not verified for host ${HOST}: the certificate names none of mail.other.test (it has DNS:mx.dest.test, IP Address:127.0.0.1)`,
    });
    t.match(only(result.attempts), { verdict: 'trusted' });
    t.same(peer.received, []);
  });

  t.test('fingerprint pins the public key of a self-signed certificate', async (t) => {
    const own = await makeCert({ names: ['pinned.test'] });
    const spki = new X509Certificate(own.cert).publicKey.export({ type: 'spki', format: 'der' });
    const pin = createHash('sha256').update(spki).digest('hex');
    const peer = await sink({ tls: 'starttls', cert: own });
    const pinned = only((await deliverVia([peer.port], { tls: 'fingerprint', fingerprints: [pin] })).results);
    t.match(only(pinned.attempts), { verdict: 'pinned', outcome: 'delivered' });
    const other = only((await deliverVia([peer.port], { tls: 'fingerprint', fingerprints: ['00'.repeat(32)] })).results);
    t.match(only(other.recipients), { outcome: 'deferred', response: /no configured fingerprint matches the certificate \(sha256:[0-9a-f]{64}\)/ });
    t.equal(peer.received.length, 1, 'only the pinned delivery sent the message');
  });
});

t.test('setup', async (t) => {
  t.test('clientCertificate presents our certificate to the peer', async (t) => {
    const ours = await makeCert({ names: ['relay.test'] });
    const peer = await sink({ tls: 'starttls', requestCert: true });
    const config = testConfig({
      outbound: [testConnector({ name: 'dest', domains: ['dest.test'], smartHosts: [{ host: '127.0.0.1', port: peer.port }], tls: 'encrypt', clientCertificate: true })],
    });
    const { ctx } = testDeliveryContext(config, { certificates: [servedCertificate(ours)] });
    const result = only(await deliverDomain('dest.test', [message('Q1', ['b@dest.test'])], ctx));
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.equal(only(peer.received).clientCertificate, 'relay.test');
  });

  t.test('clientCertificate without a loaded certificate defers, connecting nowhere', async (t) => {
    const peer = await sink({ tls: 'starttls' });
    const result = only((await deliverVia([peer.port], { clientCertificate: true })).results);
    t.same(result.recipients, [{
      address: 'b@dest.test', outcome: 'deferred', code: 451,
      response: '451 4.3.5 connector "dest" presents a client certificate, but no such certificate is loaded (tls.cert and tls.key, or tls.certificates)',
    }]);
    t.match(only(result.attempts), { host: null, outcome: 'deferred' });
    t.equal(peer.connections, 0);
  });

  t.test('an unreadable CRL file defers with its path', async (t) => {
    const result = only((await deliverVia([1], { crl: ['/nonexistent/partner.crl'] })).results);
    t.match(only(result.recipients), { outcome: 'deferred', code: 451, response: /^451 4\.3\.5 cannot read CRL \/nonexistent\/partner\.crl of connector "dest": ENOENT/ });
  });
});

t.test('recipients follow their own RCPT replies; DATA applies to the accepted ones', async (t) => {
  const peer = await sink({ tls: 'starttls', rcptReplies: { 'nobody@dest.test': '550 5.1.1 No such user', 'later@dest.test': '451 4.2.0 Try later' } });
  const { results, log } = await deliverVia([peer.port], {}, [message('Q1', ['b@dest.test', 'nobody@dest.test', 'later@dest.test'])]);
  const result = only(results);
  t.match(result.recipients, [
    { address: 'b@dest.test', outcome: 'delivered', code: 250 },
    { address: 'nobody@dest.test', outcome: 'bounced', code: 550, response: '550 5.1.1 No such user' },
    { address: 'later@dest.test', outcome: 'deferred', code: 451, response: '451 4.2.0 Try later' },
  ]);
  t.same(only(peer.received).to, ['b@dest.test']);
  t.match(only(result.attempts), { outcome: 'deferred', code: 451, response: '451 4.2.0 Try later (for later@dest.test; 1 of 3 recipients delivered)' });
  t.equal(log.lines.length, 1);
});

t.test('a refused DATA bounces or defers every recipient the peer had accepted', async (t) => {
  const peer = await sink({ tls: 'none', dataReply: '554 5.6.0 Message rejected', rcptReplies: { 'later@dest.test': '452 4.2.2 Mailbox full' } });
  const result = only((await deliverVia([peer.port], {}, [message('Q1', ['b@dest.test', 'c@dest.test', 'later@dest.test'])])).results);
  t.match(result.recipients, [
    { address: 'b@dest.test', outcome: 'bounced', code: 554, response: '554 5.6.0 Message rejected' },
    { address: 'c@dest.test', outcome: 'bounced', code: 554, response: '554 5.6.0 Message rejected' },
    { address: 'later@dest.test', outcome: 'deferred', code: 452, response: '452 4.2.2 Mailbox full' },
  ]);
  t.same(peer.received, []);
});

t.test('envelopes the peer or nodemailer cannot take bounce, and the session goes on', async (t) => {
  const peer = await sink({ tls: 'none', size: 1000 });
  const big = message('BIG', ['big@dest.test'], `Subject: big\r\n\r\n${'x'.repeat(2000)}\r\n`);
  const badAddress = message('BAD', ['bad<address@dest.test']);
  const { results } = await deliverVia([peer.port], {}, [big, badAddress, message('OK', ['ok@dest.test'])]);
  t.match(results[0]?.recipients, [{ outcome: 'bounced', code: 552, response: /^552 5\.3\.4 .*\(host 127\.0\.0\.1\)$/ }]);
  t.match(results[1]?.recipients, [{ outcome: 'bounced', code: 553, response: /^553 5\.1\.3 Invalid recipient/ }]);
  t.match(results[2]?.recipients, [{ outcome: 'delivered' }]);
  t.equal(peer.connections, 1);
  t.same(peer.received.map((received) => received.to), [['ok@dest.test']]);
});

t.test('messages share one connection', async (t) => {
  const peer = await sink({ tls: 'starttls' });
  const { results } = await deliverVia([peer.port], {}, [message('Q1', ['one@dest.test']), message('Q2', ['two@dest.test'], 'Subject: second\r\n\r\nTwo.\r\n')]);
  t.same(results.map((result) => result.queueId), ['Q1', 'Q2'], 'results in the order given');
  t.ok(results.every((result) => result.recipients.every((recipient) => recipient.outcome === 'delivered')));
  t.equal(peer.connections, 1);
  t.same(peer.received.map((received) => [received.connection, received.to]), [[1, ['one@dest.test']], [1, ['two@dest.test']]]);
  t.equal(peer.received[1]?.data, 'Subject: second\r\n\r\nTwo.\r\n');
});

t.test('what the next hop answered for a message is recorded while the next one goes out, and before the next hop can take it', async (t) => {
  const hop = await startScriptedNextHop({ starttls: { kind: 'not-offered' }, rcptReplies: { 'later@dest.test': '451 4.2.0 Try later' } });
  t.teardown(() => hop.close());
  const mails = (): number => hop.commands.filter((command) => command.verb === 'MAIL').length;
  const events: string[] = [];
  /** Each record ends only once the hop has seen `mailsBeforeDone` MAIL commands: it cannot end unless the session goes on meanwhile. */
  const recorded = (queueId: string, recipients: string[], mailsBeforeDone: number): OutgoingMessage => ({
    ...message(queueId, recipients),
    recordReplies: async ({ result, settled }) => {
      events.push(`recording ${queueId} (${settled ? 'settled' : 'open'}): ${result.recipients.map((r) => `${r.address} ${r.outcome}`).join(', ')}; the hop has taken ${hop.received.length}`);
      await until(() => mails() >= mailsBeforeDone, 5);
      events.push(`recorded ${queueId} after MAIL ${mails()}; the hop has taken ${hop.received.length}`);
    },
  });
  const { results } = await deliverVia([hop.port], {}, [
    recorded('Q1', ['one@dest.test'], 2),
    recorded('Q2', ['two@dest.test', 'later@dest.test'], 4),
    recorded('Q3', ['later@dest.test'], 4),
    recorded('Q4', ['four@dest.test'], 4),
  ]);
  t.same(
    events,
    [
      'recording Q1 (settled): one@dest.test delivered; the hop has taken 1',
      'recorded Q1 after MAIL 2; the hop has taken 1',
      'recording Q2 (open): two@dest.test delivered, later@dest.test deferred; the hop has taken 2',
      // Q3 got only a deferral, at RCPT: nothing to record before the end
      'recorded Q2 after MAIL 4; the hop has taken 2',
      'recording Q4 (settled): four@dest.test delivered; the hop has taken 3',
      'recorded Q4 after MAIL 4; the hop has taken 3',
    ],
    "the next transaction's commands go out while a record is written, its final dot only after",
  );
  t.equal(hop.connections, 1, 'over one connection');
  t.match(results.map((result) => result.recipients.map((recipient) => recipient.outcome)), [['delivered'], ['delivered', 'deferred'], ['deferred'], ['delivered']], 'the results still come at the end');
});

t.test('RSET between messages: what a refused envelope left open is cleared before the next MAIL', async (t) => {
  // the peer answers a MAIL inside an open transaction with 503, as Postfix does
  const hop = await startScriptedNextHop({ starttls: { kind: 'not-offered' }, rcptReplies: { 'nobody@dest.test': '550 5.1.1 No such user' } });
  t.teardown(() => hop.close());
  const { results } = await deliverVia([hop.port], {}, [message('Q1', ['nobody@dest.test']), message('Q2', ['two@dest.test']), message('Q3', ['three@dest.test'])]);
  t.match(results.map((result) => result.recipients), [
    [{ address: 'nobody@dest.test', outcome: 'bounced', response: '550 5.1.1 No such user' }],
    [{ address: 'two@dest.test', outcome: 'delivered' }],
    [{ address: 'three@dest.test', outcome: 'delivered' }],
  ]);
  t.same(
    // QUIT goes out after the results are in: not waited for here
    hop.commands.filter((command) => command.verb !== 'QUIT').map((command) => `${command.connection} ${command.verb}`),
    ['1 EHLO', '1 MAIL', '1 RCPT', '1 RSET', '1 MAIL', '1 RCPT', '1 DATA', '1 RSET', '1 MAIL', '1 RCPT', '1 DATA'],
    'one connection, RSET before each MAIL but the first',
  );
  t.same(hop.received.map((received) => received.to), [['two@dest.test'], ['three@dest.test']]);
});

t.test('DSN parameters go on to a next hop that advertises DSN, each recipient with its own', async (t) => {
  const dsn: OutgoingDsn = {
    ret: 'HDRS',
    envid: 'abc+1=2',
    recipients: new Map([
      ['b@dest.test', { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b@dest.test' }],
      ['c@dest.test', { notify: ['NEVER'] }],
      // smtp-server decodes "+C3+BC" into the two characters of those codes; they go back as those bytes
      ['j@dest.test', { orcpt: 'rfc822;j\u00c3\u00bcrgen+x=y@dest.test' }],
    ]),
  };
  const withDsn = { ...message('Q1', ['b@dest.test', 'c@dest.test', 'j@dest.test', 'plain@dest.test']), dsn };

  const capable = await sink({ tls: 'none', dsn: true });
  const passed = only((await deliverVia([capable.port], {}, [withDsn, message('Q2', ['none@dest.test'])])).results.slice(0, 1));
  t.equal(capable.connections, 1);
  t.equal(capable.received.length, 2, 'one transaction for all recipients of a message, whatever their parameters');
  t.same(capable.received[0]?.dsn, {
    ret: 'HDRS',
    envid: 'abc+1=2',
    recipients: {
      'b@dest.test': { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b@dest.test' },
      'c@dest.test': { notify: ['NEVER'] },
      'j@dest.test': { orcpt: 'rfc822;j\u00c3\u00bcrgen+x=y@dest.test' },
      'plain@dest.test': {},
    },
  });
  t.same(capable.received[1]?.dsn, { ret: null, envid: null, recipients: { 'none@dest.test': {} } }, 'a message without DSN gets none, on the same session');
  t.ok(
    passed.recipients.every((recipient) => recipient.outcome === 'delivered' && recipient.withoutDsn === undefined),
    'the next hop reports from here',
  );

  const plain = await sink({ tls: 'none' });
  const relayed = only((await deliverVia([plain.port], {}, [withDsn])).results);
  t.same(only(plain.received).to, ['b@dest.test', 'c@dest.test', 'j@dest.test', 'plain@dest.test'], 'a next hop without DSN takes the message all the same');
  t.ok(
    relayed.recipients.every((recipient) => recipient.outcome === 'delivered' && recipient.withoutDsn === true),
    'delivered into a world without DSN',
  );
});

t.test('next hops', async (t) => {
  t.test('a host that refuses the connection gives way to the next', async (t) => {
    const dead = await closedPort();
    const peer = await sink({ tls: 'none' });
    const result = only((await deliverVia([dead, peer.port], {})).results);
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.match(result.attempts, [
      { host: `${HOST}:${dead}`, outcome: 'deferred', code: 451, response: new RegExp(`^451 4\\.4\\.1 connect to ${HOST.replace(/[.[\]]/g, '\\$&')}: .*ECONNREFUSED`) },
      { host: `${HOST}:${peer.port}`, outcome: 'delivered' },
    ]);
  });

  t.test('when every host fails, the last reason stands', async (t) => {
    const dead = await closedPort();
    const plain = await sink({ tls: 'none' });
    const result = only((await deliverVia([dead, plain.port], { tls: 'encrypt' })).results);
    t.same(result.recipients, [{ address: 'b@dest.test', outcome: 'deferred', code: 450, response: `450 4.7.4 TLS is required, but was not offered by host ${HOST}` }]);
    t.equal(result.attempts.length, 2);
  });

  t.test('a peer talking garbage is a deferral, not a crash', async (t) => {
    const garbage = createServer((socket) => {
      socket.on('error', () => {});
      socket.end('garbage without a reply code\r\n');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', () => resolve()));
    t.teardown(() => new Promise<void>((resolve) => garbage.close(() => resolve())));
    const result = only((await deliverVia([(garbage.address() as AddressInfo).port], {})).results);
    t.match(only(result.recipients), { outcome: 'deferred', code: 451, response: /^451 4\.4\.[01] / });
  });

  t.test('a peer that dies mid-transaction: deferred 4.4.2 there, the next host takes the message', async (t) => {
    const dying = createServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 dying.test ESMTP\r\n');
      socket.on('data', (chunk: Buffer) => {
        const line = chunk.toString();
        if (/^EHLO/i.test(line)) socket.write('250 dying.test\r\n');
        else socket.destroy(); // at MAIL FROM
      });
    });
    await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', () => resolve()));
    t.teardown(() => new Promise<void>((resolve) => dying.close(() => resolve())));
    const dyingPort = (dying.address() as AddressInfo).port;
    const peer = await sink({ tls: 'none' });
    const { results } = await deliverVia([dyingPort, peer.port], {}, [message('Q1', ['one@dest.test']), message('Q2', ['two@dest.test'])]);
    for (const result of results) {
      t.match(result.attempts, [
        { host: `${HOST}:${dyingPort}`, outcome: 'deferred', code: 451, response: new RegExp(`^451 4\\.4\\.2 lost connection with host ${HOST.replace(/[.[\]]/g, '\\$&')}: `) },
        { host: `${HOST}:${peer.port}`, outcome: 'delivered' },
      ]);
    }
    t.same(peer.received.map((received) => received.to), [['one@dest.test'], ['two@dest.test']]);
  });

  t.test('a message that cannot be read is deferred and the next one still goes', async (t) => {
    const peer = await sink({ tls: 'none' });
    const unreadable: OutgoingMessage = {
      ...message('BAD', ['x@dest.test']),
      openData: () => {
        throw new Error('ENOENT: no such file');
      },
    };
    const { results } = await deliverVia([peer.port], {}, [unreadable, message('GOOD', ['y@dest.test'])]);
    t.match(results[0]?.recipients, [{ outcome: 'deferred', code: 451, response: '451 4.3.0 cannot read the queued message: ENOENT: no such file' }]);
    t.match(results[1]?.recipients, [{ outcome: 'delivered' }]);
    t.same(peer.received.map((received) => received.to), [['y@dest.test']]);
  });
});

t.test('MX routing through the configured DNS server', async (t) => {
  const peer = await sink({ tls: 'starttls', cert: caSigned });
  const table: DnsTable = {
    'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] },
    'mx.dest.test': { A: ['127.0.0.1'] },
    'broken.test': 'SERVFAIL',
  };
  const dns = await startDnsServer(table);
  t.teardown(() => dns.close());
  const config = testConfig({
    dns: { servers: [{ host: '127.0.0.1', port: dns.port }] },
    delivery: { port: peer.port, concurrency: 1, perHost: 1 },
    outbound: [testConnector({ name: 'verified', domains: ['dest.test'], tls: 'verify' })],
  });
  const { ctx, log } = testDeliveryContext(config, { extraCa: [ca.cert] });

  t.test('delivered to the MX host on delivery.port, verified by its name', async (t) => {
    const result = only(await deliverDomain('dest.test', [message('MX1', ['b@dest.test'])], ctx));
    t.match(result.recipients, [{ outcome: 'delivered' }]);
    t.match(only(result.attempts), { host: `mx.dest.test[127.0.0.1]:${peer.port}`, verdict: 'verified', connector: 'verified', tlsLevel: 'verify' });
    t.equal(only(peer.received).servername, 'mx.dest.test', 'SNI carries the MX name');
  });

  t.test('NXDOMAIN bounces, SERVFAIL defers', async (t) => {
    const [nx] = await deliverDomain('nx.test', [message('NX', ['b@nx.test'])], ctx);
    t.same(nx?.recipients, [{ address: 'b@nx.test', outcome: 'bounced', code: 550, response: '550 5.1.2 Host or domain name not found. Name service error for name=nx.test type=MX: Host not found' }]);
    t.match(nx?.attempts, [{ host: null, tls: null, verdict: 'none', outcome: 'bounced', connector: 'default', tlsLevel: 'opportunistic' }]);
    const [servfail] = await deliverDomain('broken.test', [message('SF', ['b@broken.test'])], ctx);
    t.match(servfail?.recipients, [{ outcome: 'deferred', code: 451, response: /^451 4\.4\.3 Host or domain name not found\. Name service error for name=broken\.test type=MX: Host not found, try again$/ }]);
  });

  t.test('every attempt logs one line with exactly the agreed fields', async (t) => {
    const line = log.lines.find((entry) => entry.queueId === 'MX1');
    t.ok(line);
    const pinoOwn = ['level', 'time', 'pid', 'hostname', 'name', 'msg'];
    t.same(
      Object.keys(line ?? {}).filter((key) => !pinoOwn.includes(key)).sort(),
      ['code', 'connector', 'domain', 'host', 'outcome', 'queueId', 'response', 'tls', 'tlsLevel', 'verdict'],
    );
    t.match(line, {
      msg: 'delivery attempt',
      level: 30,
      queueId: 'MX1',
      domain: 'dest.test',
      connector: 'verified',
      tlsLevel: 'verify',
      host: `mx.dest.test[127.0.0.1]:${peer.port}`,
      tls: { protocol: 'TLSv1.3', cipher: String },
      verdict: 'verified',
      outcome: 'delivered',
      code: 250,
      response: /^250 /,
    });
    t.notMatch(JSON.stringify(log.lines), /Hello there/, 'message content never reaches the log');
  });
});

t.test('a next hop that demands a client certificate the connector does not present: a TLS failure, not a host down', async (t) => {
  const demanding = await sink({ tls: 'starttls', cert: caSigned, requireCertFrom: ca.cert });
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    const peer = maxVersion === 'TLSv1.3' ? demanding : await sink({ tls: 'starttls', cert: caSigned, requireCertFrom: ca.cert, maxVersion });
    const { results, log } = await deliverVia([peer.port], { tls: 'encrypt' });
    t.match(
      only(only(results).recipients),
      // TLS 1.2 fails the handshake itself; TLS 1.3 alerts once our side is done
      { outcome: 'deferred', code: 450, response: maxVersion === 'TLSv1.3' ? /^450 4\.7\.5 Cannot start TLS: handshake failure: .*certificate required/ : /^450 4\.7\.5 Cannot start TLS: handshake failure: / },
      `${maxVersion}: the handshake failed for want of our certificate`,
    );
    t.same(
      log.lines.filter((line) => line.msg === 'next hop down').map((line) => line.msg),
      [],
      `${maxVersion}: the host is up; only this connector's TLS failed there`,
    );
    t.equal(peer.received.length, 0);
  }
});
