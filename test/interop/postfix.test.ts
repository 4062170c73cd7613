// Postfix as the partner MTA, both ways, on loopback:
//   Postfix → tlsrelay: relayhost with smtp_tls_security_level = encrypt and a client
//     certificate for mail.fabrikam.test, which the relay's partner connector requires;
//   tlsrelay → Postfix: a `verify` connector with tlsNames mail.fabrikam.test at Postfix's
//     smtpd, which delivers into a maildir;
//   swaks shows that the partner connector Postfix gets through refuses clients without
//     that certificate.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startSink } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { needsPostfix, startPostfix } from '../helpers/postfix.js';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { checkClientCertificates } from '../helpers/swaksCertificates.js';
import { needsSwaks } from '../helpers/tools.js';

t.test('Postfix as the partner MTA', needsPostfix(), async (t) => {
  const ca = await makeCa('Contoso test CA');
  // the partner's MTA uses one certificate as server and as client, as Postfix sites often do
  const partner = await makeCert({ names: ['mail.fabrikam.test'], ca });
  const relayCert = await makeCert({ names: ['relay.contoso.test'], ca });
  const stranger = await makeCert({ names: ['mail.fabrikam.test'], ca: await makeCa('CA the relay does not trust') });
  const otherPartner = await makeCert({ names: ['mail.other.test'], ca });
  const exchange = await startSink({ tls: 'starttls' });
  t.teardown(() => exchange.close());

  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'relay.crt'), relayCert.cert);
  writeFileSync(join(dir, 'relay.key'), relayCert.key);
  // each needs the other's port: the relay's is picked first, Postfix only dials it once mail is queued
  const relayPort = await freePort();
  const postfix = await startPostfix({
    files: { 'partner.crt': partner.cert, 'partner.key': partner.key, 'ca.crt': ca.cert },
    virtualDomain: 'fabrikam.test',
    main: (etc) => ({
      relayhost: `[127.0.0.1]:${relayPort}`,
      smtp_tls_security_level: 'encrypt',
      smtp_tls_cert_file: join(etc, 'partner.crt'),
      smtp_tls_key_file: join(etc, 'partner.key'),
      smtp_tls_loglevel: '1',
      smtpd_tls_security_level: 'may',
      smtpd_tls_cert_file: join(etc, 'partner.crt'),
      smtpd_tls_key_file: join(etc, 'partner.key'),
      smtpd_tls_loglevel: '1',
      smtpd_tls_received_header: 'yes',
    }),
  });
  t.teardown(() => postfix.stop());
  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.contoso.test }
listeners: [{ name: smtp, port: ${relayPort} }]
tls: { cert: relay.crt, key: relay.key, trust: [ca.crt] }
queue: { dir: spool, retry: [1h] }
acceptedDomains: [contoso.test]
inbound:
  - name: partner-fabrikam
    match: { senderDomains: [fabrikam.test] }
    require: { tls: true, certificateNames: [mail.fabrikam.test] }
  - { name: local, match: { ips: [127.0.0.1/32] }, relay: true }
outbound:
  - { name: onprem-exchange, domains: [contoso.test], smartHosts: ["127.0.0.1:${exchange.port}"], tls: encrypt }
  - { name: partner-fabrikam, domains: [fabrikam.test], smartHosts: ["127.0.0.1:${postfix.port}"], tls: verify, tlsNames: [mail.fabrikam.test] }
`,
    ),
  );
  t.teardown(() => relay.stop());
  await relay.port();

  t.test('Postfix → tlsrelay: encrypt with a client certificate the partner connector requires', async (t) => {
    const injected = await submit({ port: postfix.port, tls: 'none', from: 'billing@fabrikam.test', to: ['ap@contoso.test'], data: sampleMessage('invoice from Postfix') });
    t.match(injected, { ok: true }, 'Postfix took the message');
    const accepted = await relay.waitForLog((line) => line.msg === 'message accepted' && line.from === 'billing@fabrikam.test', 'the message from Postfix');
    t.equal(accepted.connector, 'partner-fabrikam', 'taken under the partner connector');
    const secured = relay.logs.find((line) => line.msg === 'inbound TLS established' && line.session === accepted.session);
    t.match(secured?.clientCertificate, { trusted: true, names: ['mail.fabrikam.test'] }, "the relay logged Postfix's client certificate");
    await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === accepted.queueId && line.outcome === 'delivered', 'delivery to Exchange');
    const onward = exchange.received.find((message) => message.from === 'billing@fabrikam.test');
    t.ok(onward, 'delivered on to the Exchange sink');
    t.match(onward?.data, /by relay\.contoso\.test \(tlsrelay\) with ESMTPS \(version=TLSv1\.3 cipher=\S+ verified=yes\)/, 'the Received header records the verified client');
    t.match(await postfix.waitForLog(/status=sent/), /relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+.*status=sent \(250 2\.0\.0 Ok: queued as /, 'Postfix logged the hand-over');
    t.match(postfix.log(), /TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.3/, 'over TLS 1.3');
  });

  t.test('tlsrelay → Postfix: a verify connector with tlsNames, delivered into the maildir', async (t) => {
    const sent = await submit({ port: relayPort, from: 'clerk@contoso.test', to: ['orders@fabrikam.test'], data: sampleMessage('order to Postfix') });
    t.match(sent, { ok: true }, 'the relay took the message');
    const attempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.domain === 'fabrikam.test', 'the delivery to Postfix');
    t.match(attempt, { outcome: 'delivered', code: 250, tlsLevel: 'verify', verdict: 'verified', connector: 'partner-fabrikam' }, 'delivered, certificate verified');
    t.match(attempt.tls, { protocol: 'TLSv1.3' });
    const [delivered] = await postfix.waitForDelivered();
    t.match(delivered, /Subject: order to Postfix/, 'in the maildir');
    t.match(delivered, /^Delivered-To: orders@fabrikam\.test/m);
    t.match(delivered, /from relay\.contoso\.test \(localhost \[127\.0\.0\.1\]\)\s+\(using TLSv1\.3 with cipher \S+/, "Postfix's Received header: TLS 1.3 from the relay");
  });

  t.test("swaks: the connector Postfix passes refuses clients without the partner's certificate", needsSwaks(), (t) => {
    const refusal = '530 5.7.1 Connector "partner-fabrikam" requires a trusted client certificate';
    return checkClientCertificates(t, { port: relayPort, from: 'billing@fabrikam.test', to: 'ap@contoso.test' }, [
      { what: 'no certificate', refusal: `${refusal}: no client certificate was presented` },
      { what: 'untrusted certificate', certificate: stranger, refusal: `${refusal}: the client certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)` },
      { what: 'certificate for another name', certificate: otherPartner, refusal: `${refusal}: the client certificate names (mail.other.test) do not match mail.fabrikam.test` },
      { what: "Postfix's certificate", certificate: partner },
    ]);
  });
});
