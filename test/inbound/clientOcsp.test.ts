// tls.ocsp on client certificates: the real listeners in this process, a real client with
// a certificate whose AIA names a real `openssl ocsp` responder on loopback (or one that is
// down). Revoked is refused for good by a connector that requires the certificate's name;
// under hard a responder that does not answer gets a try-later (451 4.7.0), under soft the
// message is taken.
import { rootCertificates } from 'node:tls';
import t, { type Test } from 'tap';
import type { OcspSetting } from '../../src/config/types.js';
import { startListeners } from '../../src/inbound/listeners.js';
import { createLogger } from '../../src/log.js';
import { Spool } from '../../src/queue/spool.js';
import { startOcspResponder } from '../helpers/ocspResponder.js';
import { opensslCertificate, type KeyPair } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { servedCertificate, testConfig } from '../helpers/testConfig.js';
import { needsTool } from '../helpers/tools.js';

t.test('client certificates under tls.ocsp', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const ca = await opensslCertificate({ subject: '/CN=Partner Client CA', ca: true });
  const relay = await opensslCertificate({ subject: '/CN=relay.test', issuer: ca, extensions: ['subjectAltName = DNS:relay.test, IP:127.0.0.1'] });
  const [upPort, downPort] = [await freePort(), await freePort()];
  const clientFor = (port: number): Promise<KeyPair> =>
    opensslCertificate({
      subject: '/CN=mail.partner.test',
      issuer: ca,
      extensions: ['subjectAltName = DNS:mail.partner.test', 'extendedKeyUsage = clientAuth', `authorityInfoAccess = OCSP;URI:http://127.0.0.1:${port}/`],
    });
  const good = await clientFor(upPort);
  const revoked = await clientFor(upPort);
  const unanswered = await clientFor(downPort);
  const responder = await startOcspResponder({ ca, port: upPort, index: [{ certificate: good }, { certificate: revoked, revokedAt: new Date(Date.now() - 60_000) }] });
  t.teardown(() => responder.stop());

  async function listen(t: Test, ocsp: OcspSetting) {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('info', { write: (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>) });
    const base = testConfig({
      listeners: [{ name: 'smtp', address: '127.0.0.1', port: 0, tls: 'starttls', auth: 'none' }],
      acceptedDomains: ['contoso.test'],
      inbound: [{ name: 'partner', match: { senderDomains: ['partner.test'] }, require: { tls: true, certificateNames: ['mail.partner.test'] }, relay: false }],
    });
    const config = { ...base, tls: { ...base.tls, ocsp } };
    const spool = await Spool.open(t.testdir(), logger);
    const inbound = await startListeners(config, { certificates: [servedCertificate(relay)], ca: [...rootCertificates, ca.cert], crl: [] }, { config, store: spool, logger });
    t.teardown(() => inbound.close());
    const port = inbound.listeners[0]!.port;
    const send = (client: KeyPair) => submit({ port, from: 'a@partner.test', to: ['user@contoso.test'], data: sampleMessage(), key: client.key, cert: client.cert });
    return { send, lines };
  }

  t.test('hard: good is taken, revoked refused 5.7.1, an unanswered check 451 4.7.0', async (t) => {
    const { send, lines } = await listen(t, 'hard');
    t.match(await send(good), { ok: true });
    t.match(
      lines.find((line) => line.msg === 'inbound TLS established'),
      { clientCertificate: { trusted: true, ocsp: { kind: 'passed', note: 'OCSP: good' } } },
      'the answer is in the TLS line of the session',
    );
    t.match(await send(revoked), { ok: false, code: 530, response: /^530 5\.7\.1 Connector "partner" requires a trusted client certificate: .*certificate revoked at .*\(OCSP\)/ });
    t.match(await send(unanswered), { ok: false, code: 451, response: /^451 4\.7\.0 Connector "partner" cannot check the client certificate now: OCSP responder unreachable: .*\(tls\.ocsp: hard\); try again later$/ });
  });

  t.test('soft: an unanswered check lets the message in; revoked is still refused', async (t) => {
    const { send } = await listen(t, 'soft');
    t.match(await send(unanswered), { ok: true });
    t.match(await send(revoked), { ok: false, code: 530 });
  });

  t.test('off: nobody is asked, the revoked certificate passes', async (t) => {
    const { send } = await listen(t, 'off');
    t.match(await send(revoked), { ok: true });
  });
});
