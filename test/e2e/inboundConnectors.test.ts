// Inbound connectors judged by client certificate, end to end: a partner that must send
// over TLS with a trusted certificate for its name, and the on-prem Exchange that may
// relay anywhere because of its certificate. swaks plays the refused clients (as an
// administrator would check), nodemailer the accepted ones.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { makeCa, makeCert, makeCrl, type KeyPair } from '../helpers/pki.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { checkClientCertificates } from '../helpers/swaksCertificates.js';
import { needsSwaks } from '../helpers/tools.js';

const ca = await makeCa('Contoso test CA');
const strangerCa = await makeCa('CA the relay does not trust');
const client = {
  partner: await makeCert({ names: ['mail.fabrikam.test'], ca }),
  wrongName: await makeCert({ names: ['mail.other.test'], ca }),
  untrusted: await makeCert({ names: ['mail.fabrikam.test'], ca: strangerCa }),
  revoked: await makeCert({ names: ['mail.fabrikam.test'], ca }),
  exchange: await makeCert({ names: ['exchange.contoso.test'], ca }),
};
const PARTNER_REFUSAL = '530 5.7.1 Connector "partner-fabrikam" requires a trusted client certificate';

t.test('partner and on-prem connectors matched on client certificates', async (t) => {
  const sink = await startSink({ tls: 'starttls' });
  const dir = t.testdir();
  const relayCert = await makeCert({ names: ['relay.contoso.test'], ca });
  const files: Record<string, string> = { 'relay.crt': relayCert.cert, 'relay.key': relayCert.key, 'ca.crt': ca.cert, 'ca.crl': await makeCrl(ca, { revoked: [client.revoked.cert] }) };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.contoso.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, trust: [ca.crt], crl: [ca.crl] }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
inbound:
  - name: onprem
    match: { certificateNames: [exchange.contoso.test] }
    relay: true
  - name: partner-fabrikam
    match: { senderDomains: [fabrikam.test] }
    require: { tls: true, certificateNames: [mail.fabrikam.test] }
outbound:
  - { name: everything, domains: ["*"], smartHosts: ["127.0.0.1:${sink.port}"], tls: encrypt }
`,
    ),
  );
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();
  const send = (to: string, from: string, pair?: KeyPair, tls: 'starttls' | 'none' = 'starttls') =>
    submit({ port, tls, from, to: [to], data: sampleMessage(`to ${to}`), ...(pair ? { key: pair.key, cert: pair.cert } : {}) });

  t.test('swaks: the partner connector refuses what is not its certificate', needsSwaks(), (t) =>
    checkClientCertificates(t, { port, from: 'billing@fabrikam.test', to: 'ap@contoso.test' }, [
      { what: 'no certificate', refusal: `${PARTNER_REFUSAL}: no client certificate was presented` },
      { what: 'untrusted certificate', certificate: client.untrusted, refusal: `${PARTNER_REFUSAL}: the client certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)` },
      { what: 'certificate for another name', certificate: client.wrongName, refusal: `${PARTNER_REFUSAL}: the client certificate names (mail.other.test) do not match mail.fabrikam.test` },
      { what: 'revoked certificate (tls.crl)', certificate: client.revoked, refusal: `${PARTNER_REFUSAL}: the client certificate is not trusted (certificate has been revoked (CERT_REVOKED))` },
      { what: 'the right certificate', certificate: client.partner },
    ]),
  );

  t.test('plaintext: the partner must use STARTTLS first', async (t) => {
    t.match(await send('ap@contoso.test', 'billing@fabrikam.test', undefined, 'none'), { ok: false, code: 530, response: /^530 5\.7\.0 Must issue a STARTTLS command first/ });
  });

  t.test('the partner with its certificate: accepted for contoso.test, and nothing else', async (t) => {
    const accepted = await send('ap@contoso.test', 'billing@fabrikam.test', client.partner);
    t.match(accepted, { ok: true, response: /^250 2\.0\.0 Ok: queued as / });
    const secured = await relay.waitForLog((line) => line.msg === 'inbound TLS established' && JSON.stringify(line.clientCertificate ?? null).includes('mail.fabrikam.test') && (line.clientCertificate as { trusted: boolean }).trusted);
    t.match(secured.clientCertificate, { trusted: true, names: ['mail.fabrikam.test'] }, 'the relay logged the client certificate');
    await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.domain === 'contoso.test' && line.outcome === 'delivered');
    t.ok(sink.received.some((message) => message.from === 'billing@fabrikam.test' && message.to.includes('ap@contoso.test')), 'delivered on');
    t.match(await send('someone@elsewhere.test', 'billing@fabrikam.test', client.partner), { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'a partner does not relay');
  });

  t.test('on-prem Exchange: its certificate lets it relay anywhere; the same IP without it cannot', async (t) => {
    const relayed = await send('customer@elsewhere.test', 'clerk@contoso.test', client.exchange);
    t.match(relayed, { ok: true }, 'relayed with the exchange.contoso.test certificate');
    await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.domain === 'elsewhere.test' && line.outcome === 'delivered');
    t.ok(sink.received.some((message) => message.to.includes('customer@elsewhere.test')), 'delivered on');
    t.match(await send('customer@elsewhere.test', 'clerk@contoso.test'), { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'no certificate: relaying denied');
    t.match(await send('customer@elsewhere.test', 'clerk@contoso.test', client.partner), { ok: false, code: 550 }, 'a trusted certificate for another name: relaying denied');
  });
});
