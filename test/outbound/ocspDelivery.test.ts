// tls.ocsp on delivery: deliverDomain to real next hops on loopback (smtp-server) whose
// certificates name a real `openssl ocsp` responder, or one that is down. A revoked
// certificate or, under hard, an unanswered check makes the chain invalid: verify defers
// with 4.7.5, encrypt delivers and the reason is logged; soft delivers past a responder
// that is down, with a note; a stapled response is taken before the responder.
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import type { OcspSetting, TlsLevel } from '../../src/config/types.js';
import { deliverDomain } from '../../src/outbound/deliverDomain.js';
import type { MessageResult, OutgoingMessage } from '../../src/outbound/types.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { startOcspResponder } from '../helpers/ocspResponder.js';
import { startSink, type SinkOptions } from '../helpers/peers.js';
import { makeOcspResponse, opensslCertificate, type KeyPair } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { testConfig, testConnector, testDeliveryContext } from '../helpers/testConfig.js';
import { needsTool } from '../helpers/tools.js';

const BODY = 'Subject: ocsp\r\n\r\nHello.\r\n';
const HOST = '127.0.0.1';

const message = (queueId: string): OutgoingMessage => ({
  queueId,
  from: 'a@sender.test',
  recipients: ['r@partner.test'],
  size: BODY.length,
  extensions: { smtputf8: 'none', eightBitMime: 'none' },
  openData: () => Readable.from([Buffer.from(BODY)]),
});

const finalOf = (results: MessageResult[]) => results[0]?.recipients[0];

t.test('tls.ocsp against an openssl ocsp responder', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const ca = await opensslCertificate({ subject: '/CN=Partner OCSP CA', ca: true });
  const [upPort, downPort] = [await freePort(), await freePort()];
  const leafFor = (port: number): Promise<KeyPair> =>
    opensslCertificate({ subject: '/CN=mx.partner.test', issuer: ca, extensions: ['subjectAltName = DNS:mx.partner.test, IP:127.0.0.1', `authorityInfoAccess = OCSP;URI:http://${HOST}:${port}/`] });
  const good = await leafFor(upPort);
  const revoked = await leafFor(upPort);
  const unanswered = await leafFor(downPort);
  const responder = await startOcspResponder({ ca, port: upPort, index: [{ certificate: good }, { certificate: revoked, revokedAt: new Date(Date.now() - 60_000), reason: 'keyCompromise' }] });
  t.teardown(() => responder.stop());
  // the smart host by name, for SNI: Node hands the server the staple request only with it
  const dns = await startDnsServer({ 'mx.partner.test': { A: [HOST] } });
  t.teardown(() => dns.close());

  async function deliver(t: Test, { cert, level, ocsp, staple }: { cert: KeyPair; level: TlsLevel; ocsp: OcspSetting; staple?: Buffer }) {
    const sinkOptions: SinkOptions = { tls: 'starttls', cert, ...(staple ? { ocspStaple: staple } : {}) };
    const sink = await startSink(sinkOptions);
    t.teardown(() => sink.close());
    const connector = testConnector({ name: 'partner', domains: ['partner.test'], smartHosts: [{ host: 'mx.partner.test', port: sink.port }], tls: level });
    const config = testConfig({ outbound: [connector], dns: { servers: [{ host: HOST, port: dns.port }] } });
    const { ctx, log } = testDeliveryContext({ ...config, tls: { ...config.tls, ocsp } }, { extraCa: [ca.cert] });
    t.teardown(() => ctx.sessions.closeAll());
    const results = await deliverDomain('partner.test', [message('Q1')], ctx);
    return { final: finalOf(results), log: log.lines, sink };
  }
  const ocspLines = (lines: Array<Record<string, unknown>>) => lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('OCSP: '));

  t.test('good: delivered under verify, the answer logged', async (t) => {
    const { final, log, sink } = await deliver(t, { cert: good, level: 'verify', ocsp: 'hard' });
    t.match(final, { outcome: 'delivered' });
    t.equal(sink.received.length, 1);
    t.match(ocspLines(log), [{ source: 'responder', note: 'OCSP: good', connector: 'partner' }]);
  });

  t.test('off: never asked, a revoked certificate delivers under verify', async (t) => {
    const { final, log } = await deliver(t, { cert: revoked, level: 'verify', ocsp: 'off' });
    t.match(final, { outcome: 'delivered' });
    t.same(ocspLines(log), []);
  });

  t.test('revoked: deferred 4.7.5 under verify, delivered under encrypt with the reason logged', async (t) => {
    const verify = await deliver(t, { cert: revoked, level: 'verify', ocsp: 'soft' });
    t.match(verify.final, { outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified for host .*: certificate revoked at \S+ \(keyCompromise\) \(OCSP\)$/ });
    t.equal(verify.sink.received.length, 0);
    const encrypt = await deliver(t, { cert: revoked, level: 'encrypt', ocsp: 'soft' });
    t.match(encrypt.final, { outcome: 'delivered' });
    t.match(ocspLines(encrypt.log), [{ level: 40, decision: 'refuse', reason: /certificate revoked at .*\(OCSP\)/, tlsLevel: 'encrypt' }]);
  });

  t.test('responder down: soft delivers with a note, hard defers 4.7.5', async (t) => {
    const soft = await deliver(t, { cert: unanswered, level: 'verify', ocsp: 'soft' });
    t.match(soft.final, { outcome: 'delivered' });
    t.match(ocspLines(soft.log), [{ note: /^OCSP responder unreachable: .*ECONNREFUSED.*; accepted \(tls\.ocsp: soft\)$/ }]);
    const hard = await deliver(t, { cert: unanswered, level: 'verify', ocsp: 'hard' });
    t.match(hard.final, { outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified for host .*: OCSP responder unreachable: .*\(tls\.ocsp: hard\)$/ });
  });

  t.test('a stapled revoked response is taken first, though its responder is down', async (t) => {
    const staple = await makeOcspResponse(ca, unanswered, { index: [{ certificate: unanswered, revokedAt: new Date(Date.now() - 60_000) }], minutes: 30 });
    const { final, log } = await deliver(t, { cert: unanswered, level: 'verify', ocsp: 'soft', staple });
    t.match(final, { outcome: 'deferred', response: /4\.7\.5 .*certificate revoked at .*\(OCSP\)$/ });
    t.match(ocspLines(log), [{ source: 'stapled', decision: 'refuse' }]);
  });
});
