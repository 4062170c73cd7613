// `tlsrelay tls probe` through the built binary, against real SMTP peers on loopback
// (smtp-server instances and scripted ones, certificates of test CAs made here), a DNS
// server in the test for MX, A and TLSA answers, an MTA-STS policy host on port 443, and
// a private Postfix: what the probe reports is checked against what each peer is known to
// do, against openssl's reading of the same certificates, and against what the relay's
// delivery path decides for the same peer.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ProbeReport } from '../../src/cli/probeReport.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { startSink, type Sink, type SinkOptions } from '../helpers/peers.js';
import { makeCa, makeCert, makeOcspResponse } from '../helpers/pki.js';
import { startPolicyHost } from '../helpers/policyHost.js';
import { freePort } from '../helpers/ports.js';
import { needsPostfix, startPostfix } from '../helpers/postfix.js';
import { fencedBlocks, readmeSection } from '../helpers/docText.js';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { runTool } from '../helpers/tools.js';

const dns = await startDnsServer({});
const partnerCa = await makeCa('Fabrikam Test CA');
const webCa = await makeCa('test WebPKI CA');
const ours = await makeCert({ names: ['relay.contoso.test'], ca: partnerCa });
const peers: Array<{ close(): Promise<void> }> = [];
t.teardown(async () => {
  for (const peer of peers) await peer.close();
  await dns.close();
});

async function peer(options: SinkOptions): Promise<Sink> {
  const sink = await startSink(options);
  peers.push(sink);
  return sink;
}

let counter = 0;
/** A domain no other test uses. */
const freshDomain = (label: string): string => `${label}${++counter}.test`;

/** A config in a folder of its own with the test DNS, the partner CA in tls.trust and our client certificate; `outbound` as YAML lines; `relay`: loopback may relay (for a relay started on it). */
function configFor(dir: string, { outbound = [], port = 25, dnssec = false, relay = false }: { outbound?: string[]; port?: number; dnssec?: boolean; relay?: boolean } = {}): string {
  writeFileSync(join(dir, 'partner-ca.pem'), partnerCa.cert);
  writeFileSync(join(dir, 'web-ca.pem'), webCa.cert);
  writeFileSync(join(dir, 'relay.crt'), ours.cert);
  writeFileSync(join(dir, 'relay.key'), ours.key);
  return writeConfig(
    dir,
    [
      'server: { hostname: relay.contoso.test }',
      'listeners: [{ name: lan, port: 0, tls: none }]',
      `dns: { servers: ["127.0.0.1:${dns.port}"], dnssec: ${dnssec} }`,
      'tls: { certificates: [{ name: relay, cert: relay.crt, key: relay.key }], trust: [partner-ca.pem, web-ca.pem] }',
      // one attempt per message: a deferral stays the news
      'queue: { dir: spool, retry: [1h] }',
      ...(relay ? ['inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]'] : []),
      `delivery: { port: ${port} }`,
      ...(outbound.length > 0 ? ['outbound:', ...outbound] : []),
      '',
    ].join('\n'),
  );
}

async function probe(t: Test, args: string[], file: string): Promise<{ code: number | null; stdout: string; stderr: string; json: ProbeReport }> {
  const [text, json] = await Promise.all([runCli(['tls', 'probe', ...args, '-c', file]), runCli(['tls', 'probe', ...args, '--json', '-c', file])]);
  t.equal(json.code, text.code, `${args.join(' ')}: --json exits as the text form does`);
  return { ...text, json: JSON.parse(json.stdout) as ProbeReport };
}

const levelOf = (report: ProbeReport, level: string) => report.levels.find((row) => row.level === level)!;

async function opensslPins(pem: string): Promise<{ certificate: string; publicKey: string }> {
  const dir = t.testdir({ 'c.pem': pem });
  const path = join(dir, 'c.pem');
  const digest = async (command: string): Promise<string> => (await runTool('sh', ['-c', command])).output.trim().split(/\s/)[0]!;
  return {
    certificate: `sha256:${await digest(`openssl x509 -in ${path} -outform der | openssl dgst -sha256 -r`)}`,
    publicKey: `sha256:${await digest(`openssl x509 -in ${path} -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -r`)}`,
  };
}

t.test('a partner with a certificate of a CA in tls.trust, by its MX: the dialogue, the TLS session, the chain, the pins, and every level', async (t) => {
  const domain = freshDomain('fabrikam');
  const mx = `mx.${domain}`;
  const certificate = await makeCert({ names: [mx], ca: partnerCa });
  const sink = await peer({ tls: 'starttls', cert: certificate, name: mx });
  dns.set(domain, { MX: [{ preference: 10, exchange: mx }] });
  dns.set(mx, { A: ['127.0.0.1'] });
  const file = configFor(t.testdir(), { port: sink.port });
  const { code, stdout, stderr, json } = await probe(t, [domain], file);
  t.equal(code, 0, 'verify (no --connector) would deliver');
  t.equal(stderr, '');
  t.match(json, {
    destination: { given: domain, kind: 'domain', port: sink.port },
    connector: { name: 'default', implicit: true, level: 'opportunistic', clientCertificate: null },
    judged: { level: 'verify', by: 'default' },
    route: [{ host: mx, port: sink.port, preference: 10, addresses: ['127.0.0.1'] }],
    probed: { host: mx, address: '127.0.0.1', peer: `${mx}[127.0.0.1]`, serverName: mx, sourceIp: '127.0.0.1', tls: 'starttls' },
    starttls: 'accepted',
    handshakeFailure: null,
  });
  t.strictSame(
    json.dialogue.map(({ reply }) => reply),
    ['greeting', 'EHLO', 'STARTTLS', 'EHLO'],
    'greeting, EHLO, STARTTLS and the EHLO inside TLS, in order',
  );
  t.match(json.dialogue[0]!.lines, [`220 ${mx} ESMTP`]);
  t.ok(json.dialogue[1]!.lines.includes('250 STARTTLS'), 'the plaintext EHLO offers STARTTLS');
  t.notOk(json.extensions.includes('STARTTLS'), 'the extensions are those of the EHLO inside TLS');
  t.ok(json.extensions.includes('PIPELINING'));
  t.equal(sink.connections, 2, 'one connection for each run, the text and the --json one');
  t.equal(sink.received.length, 0, 'and no message: QUIT before MAIL');

  const tls = json.tls!;
  t.match(tls, { protocol: 'TLSv1.3', cipher: /^TLS_/, keyExchange: { type: 'ECDH', name: 'X25519' }, ocsp: { stapled: false }, trusted: true, trustError: null });
  t.match(tls.chain, { complete: true, rootIssuer: 'Fabrikam Test CA', path: [{ subject: `CN=${mx}`, from: 'peer' }, { from: 'tls.trust', file: join(t.testdirName, 'partner-ca.pem') }] });
  t.strictSame(tls.names, { expected: [mx], matched: true, each: [{ name: mx, matched: true }], error: null }, 'no tlsNames: the MX host dialled');
  t.strictSame(tls.pins, await opensslPins(certificate.cert), 'the pins openssl computes from the same certificate');
  t.match(tls.certificates[0], { subject: `CN=${mx}`, dnsNames: [mx], notAfter: new Date(new X509Certificate(certificate.cert).validTo).toISOString(), daysLeft: 89 });
  t.match(levelOf(json, 'verify'), { plan: 'connect', outcome: { action: 'deliver-over-tls', verdict: 'verified' }, delivers: true });
  t.match(levelOf(json, 'fingerprint'), { outcome: { action: 'defer', response: new RegExp(`^450 4\\.7\\.5 Server certificate not verified for host ${mx}\\[127\\.0\\.0\\.1\\]: no configured fingerprint matches the certificate \\(${tls.pins!.certificate}\\)`) }, delivers: false });
  t.match(levelOf(json, 'dane'), { decidedBy: 'none', outcome: { action: 'deliver-over-tls', verdict: 'verified' } }, 'dane without TLSA records (dns.dnssec off) is opportunistic');
  t.match(levelOf(json, 'dane-only'), { plan: 'defer', outcome: { action: 'defer-before-dialling', response: /^450 4\.7\.5 No DNSSEC-validated TLSA records, and DANE is required/ } });
  t.match(json.published, { dane: { dnssec: false, finding: { kind: 'insecure' } }, mtaSts: { consulted: true, state: 'none' } });
  t.match(json.result, { level: 'verify', delivers: true });

  t.match(stdout, new RegExp(`^tls probe ${domain}: the route of mail to ${domain}\\n`));
  t.match(stdout, /\n {2}STARTTLS result +accepted\n/);
  t.match(stdout, /\n {2}key exchange +ECDH X25519 \(253 bits\)\n/);
  t.match(stdout, /\n {2}OCSP +requested, none stapled\n/);
  t.match(stdout, /\n {2}root +Fabrikam Test CA \(tls\.trust .*partner-ca\.pem\)\n/);
  t.match(stdout, new RegExp(`\\n {2}certificate pin +${tls.pins!.certificate} \\(changes with every renewal\\)\\n`));
  t.match(stdout, /\n {2}verify +deliver over TLS \(logged verified\)\n/);
  t.match(stdout, /\nresult +would deliver at verify: deliver over TLS \(logged verified\)\n$/);

  const [example] = fencedBlocks(readmeSection('### Probing a partner'), 'console');
  const [command, ...documented] = example!.split('\n');
  t.equal(command, `$ tlsrelay tls probe ${domain} -c /etc/tlsrelay/tlsrelay.yaml`, "README's example is this probe");
  const aside = (text: string): string =>
    text
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<date>')
      .replace(/sha256:[0-9a-f]{64}/g, '<pin>')
      .replace(/(serial +)[0-9A-F]+/g, '$1<serial>')
      .replace(/127\.0\.0\.1:\d+ \(dns\.dnssec/, '127.0.0.1:<port> (dns.dnssec')
      .replace(/:\d+ \(preference/, ':<port> (preference')
      .replace(/\]:\d+ from/, ']:<port> from');
  t.equal(aside(stdout.replaceAll(t.testdirName, '/etc/tlsrelay')), aside(documented.join('\n')), "README's example is what the command prints (dates, pins, serials and ports aside)");
});

/**
 * A partner with a self-signed certificate that wants a client certificate of our CA, as
 * forced-TLS partners do; `connector(name, settings)` is a connector line that reaches it
 * for the domain NAME.test.
 */
async function pickyPartner(): Promise<{ sink: Sink; pins: { certificate: string; publicKey: string }; connector: (name: string, settings: string) => string }> {
  const selfSigned = await makeCert({ names: ['mail.partner.test'] });
  const sink = await peer({ tls: 'starttls', cert: selfSigned, requireCertFrom: partnerCa.cert });
  const connector = (name: string, settings: string): string => `  - { name: ${name}, domains: [${name}.test], smartHosts: ["127.0.0.1:${sink.port}"], ${settings} }`;
  return { sink, pins: await opensslPins(selfSigned.cert), connector };
}

t.test('--connector: its client certificate, pins and level; the exit status answers for that level, and a delivery through it does what the probe said', async (t) => {
  const { sink, pins, connector } = await pickyPartner();
  const outbound = [
    connector('pinned', `tls: fingerprint, fingerprints: ["${pins.publicKey}"], clientCertificate: relay`),
    connector('stale-pin', `tls: fingerprint, fingerprints: ["sha256:${'00'.repeat(32)}"], clientCertificate: relay`),
    connector('checked', 'tls: verify-ca, clientCertificate: relay'),
    connector('anonymous', 'tls: encrypt'),
  ];
  const file = configFor(t.testdir(), { outbound, relay: true });
  const pinned = await probe(t, [`127.0.0.1:${sink.port}`, '--connector', 'pinned'], file);
  t.equal(pinned.code, 0, pinned.stderr);
  t.match(pinned.json, { connector: { name: 'pinned', why: 'named by --connector', level: 'fingerprint', fingerprints: [pins.publicKey], clientCertificate: 'relay' }, judged: { level: 'fingerprint', by: 'connector' } });
  t.match(pinned.json.tls, { trusted: false, trustError: /self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/, chain: { complete: false, problem: /signed itself and is no trust anchor here/ } });
  t.match(pinned.json.result, { level: 'fingerprint', outcome: { action: 'deliver-over-tls', verdict: 'pinned' } });
  t.match(levelOf(pinned.json, 'verify-ca'), { outcome: { action: 'defer', response: /^450 4\.7\.5 Server certificate not verified for host 127\.0\.0\.1: self-signed certificate/ } });
  t.match(pinned.stdout, /\n {2}client certificate +relay, presented when the server asks\n/);

  const stale = await probe(t, [`127.0.0.1:${sink.port}`, '--connector', 'stale-pin'], file);
  t.equal(stale.code, 1, 'a pin that no longer matches: fingerprint would defer');
  t.match(stale.json.result, { outcome: { action: 'defer', response: /no configured fingerprint matches/ } });
  t.match(stale.stdout, /\nresult +would defer at fingerprint: defer: 450 4\.7\.5 /);

  // no client certificate: the partner ends the handshake, as it would end a delivery's
  const anonymous = await probe(t, [`127.0.0.1:${sink.port}`, '--connector', 'anonymous'], file);
  t.equal(anonymous.code, 1);
  t.match(anonymous.json, { starttls: 'accepted', tls: null, handshakeFailure: /./ });
  t.match(anonymous.json.result, { level: 'encrypt', outcome: { action: 'defer', response: /^450 4\.7\.5 Cannot start TLS: handshake failure: / } });
  t.match(levelOf(anonymous.json, 'opportunistic'), { outcome: { action: 'plaintext-fallback' }, delivers: true });

  const checked = await probe(t, [`127.0.0.1:${sink.port}`, '--connector', 'checked'], file);
  t.match(checked.json.result, { level: 'verify-ca', outcome: { action: 'defer', response: /self-signed certificate/ } });

  // what the probe says a connector would do is what a delivery through it does
  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  const relayPort = await relay.port('lan');
  for (const [name, probed] of Object.entries({ pinned, 'stale-pin': stale, checked, anonymous })) {
    const domain = `${name}.test`;
    const submitted = await submit({ port: relayPort, tls: 'none', from: 'alice@contoso.test', to: [`bob@${domain}`], data: sampleMessage(domain) });
    t.ok(submitted.ok, `${domain}: the relay takes it`);
    if (!submitted.ok) continue;
    const queueId = /queued as ([0-9a-f]+)/.exec(submitted.response)?.[1];
    const attempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === queueId && line.outcome !== undefined, `the attempt of ${domain}`);
    const { outcome } = probed.json.result;
    if (outcome.action === 'defer') {
      t.equal(probed.code, 1);
      t.match(attempt, { connector: name, outcome: 'deferred', response: outcome.response }, `${name}: the probe's deferral, word for word`);
    } else {
      t.equal(probed.code, 0);
      t.match(attempt, { connector: name, outcome: 'delivered', verdict: outcome.action === 'deliver-over-tls' ? outcome.verdict : 'none' }, `${name}: delivered, with the probe's verdict`);
    }
  }
  t.equal(sink.received.length, 1, 'only the pinned connector delivered: the probes sent no message');
});

t.test('a server without STARTTLS, one that refuses it, one whose handshake breaks', async (t) => {
  const plain = await peer({ tls: 'none' });
  const dir = t.testdir();
  const file = configFor(dir, { outbound: [`  - { name: plaintext, domains: [plain.test], smartHosts: ["127.0.0.1:${plain.port}"], tls: none }`] });
  const none = await probe(t, [`127.0.0.1:${plain.port}`], file);
  t.equal(none.code, 1);
  t.match(none.json, { starttls: 'not-offered', tls: null });
  t.strictSame(none.json.dialogue.map(({ reply }) => reply), ['greeting', 'EHLO']);
  t.match(levelOf(none.json, 'opportunistic'), { outcome: { action: 'deliver-in-plaintext' } });
  t.match(none.json.result, { outcome: { action: 'defer', response: '450 4.7.4 TLS is required, but was not offered by host 127.0.0.1' } });
  t.match(none.stdout, /\nTLS\n {2}none +not offered by the server\n/);
  // a config whose pair the first start makes (tls.generateIfMissing): the probe presents none, and makes none
  const fresh = join(dir, 'fresh');
  mkdirSync(fresh);
  const pending = writeConfig(fresh, `listeners: [{ name: lan, port: 0 }]\ntls: { cert: relay.crt, key: relay.key, generateIfMissing: true }\nqueue: { dir: spool }\n`);
  const beforeStart = await probe(t, [`127.0.0.1:${plain.port}`], pending);
  t.equal(beforeStart.code, 1);
  t.equal(beforeStart.json.connector.clientCertificate, null);
  t.notOk(existsSync(join(fresh, 'relay.crt')), 'no pair was made');

  // level none is no row of its own, unless it is the level judged: then it leads
  const plaintext = await probe(t, [`127.0.0.1:${plain.port}`, '--connector', 'plaintext'], file);
  t.equal(plaintext.code, 0, 'none delivers in plaintext');
  t.match(plaintext.json, { judged: { level: 'none', by: 'connector' }, levels: [{ level: 'none', outcome: { action: 'deliver-in-plaintext' } }, { level: 'opportunistic' }] });

  const refusing = await peer({ tls: 'refuse-starttls' });
  const refused = await probe(t, [`127.0.0.1:${refusing.port}`], file);
  t.match(refused.json, { starttls: 'refused', dialogue: [{ reply: 'greeting' }, { reply: 'EHLO' }, { reply: 'STARTTLS', lines: ['454 4.7.0 TLS not available due to local problem'] }] });
  t.match(refused.json.result, { outcome: { action: 'defer', response: /^450 4\.7\.5 TLS is required, but host 127\.0\.0\.1 refused to start TLS: 454 4\.7\.0/ } });

  const broken = await peer({ tls: 'broken-handshake' });
  const garbage = await probe(t, [`127.0.0.1:${broken.port}`], file);
  t.equal(garbage.code, 1);
  t.match(garbage.json, { starttls: 'accepted', tls: null, handshakeFailure: /./ });
  t.match(levelOf(garbage.json, 'encrypt'), { outcome: { action: 'defer', response: /^450 4\.7\.5 Cannot start TLS: handshake failure/ } });
  t.match(garbage.stdout, /\n {2}handshake +failed: /);
});

t.test("the connector's minVersion and ciphers hold the probe as they hold a delivery", async (t) => {
  const sink = await peer({ tls: 'starttls', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
  const outbound = [
    `  - { name: modern, domains: [modern.test], tls: encrypt, minVersion: TLSv1.3 }`,
    `  - { name: chacha, domains: [chacha.test], tls: encrypt, ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305" }`,
    `  - { name: gcm, domains: [gcm.test], tls: encrypt, ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" }`,
  ];
  const file = configFor(t.testdir(), { outbound });
  for (const connector of ['modern', 'chacha']) {
    const refused = await probe(t, [`127.0.0.1:${sink.port}`, '--connector', connector], file);
    t.equal(refused.code, 1, `${connector}: no shared version or suite`);
    t.match(refused.json, { tls: null, handshakeFailure: /./, result: { level: 'encrypt', delivers: false } });
  }
  const shared = await probe(t, [`127.0.0.1:${sink.port}`, '--connector', 'gcm'], file);
  t.equal(shared.code, 0);
  t.match(shared.json.tls, { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384', cipherStandardName: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384' });
});

t.test('--implicit, --name, and a stapled OCSP response', async (t) => {
  const host = `smtps.${freshDomain('ocsp')}`;
  const certificate = await makeCert({ names: [host], ca: partnerCa });
  const response = await makeOcspResponse(partnerCa, certificate, { minutes: 30 });
  const sink = await peer({ tls: 'starttls', implicit: true, cert: certificate, ocspStaple: response });
  dns.set(host, { A: ['127.0.0.1'] });
  const file = configFor(t.testdir());
  const { code, stdout, json } = await probe(t, [`[${host}]:${sink.port}`, '--implicit', '--name', 'relay.fabrikam.test', '--name', host], file);
  t.equal(code, 0, 'one of the names is held');
  t.match(json, { destination: { kind: 'host' }, probed: { tls: 'implicit', serverName: host }, starttls: 'implicit' });
  t.strictSame(json.dialogue.map(({ reply }) => reply), ['greeting', 'EHLO'], 'no STARTTLS: TLS from the first byte');
  t.match(json.tls!.ocsp, { stapled: true, bytes: response.length, status: { kind: 'good', thisUpdate: /^\d{4}-/, nextUpdate: /^\d{4}-/ } }, 'the stapled response, its length and its status read against the issuer');
  t.strictSame(json.tls!.names.each, [
    { name: 'relay.fabrikam.test', matched: false },
    { name: host, matched: true },
  ]);
  t.match(json.published.mtaSts, { consulted: false, why: /is dialled itself, not as a domain's MX host/ });
  t.match(stdout, new RegExp(`\\n {2}OCSP +stapled, ${response.length} bytes: good; thisUpdate \\S+Z, nextUpdate \\S+Z\\n`));
  t.match(stdout, /\n {2}names +relay\.fabrikam\.test: not held\n {24}smtps\..*: held\n/);

  const wrongName = await probe(t, [`[${host}]:${sink.port}`, '--implicit', '--name', 'relay.fabrikam.test'], file);
  t.equal(wrongName.code, 1);
  t.match(wrongName.json.result, { outcome: { action: 'defer', response: /the certificate names none of relay\.fabrikam\.test/ } });
});

t.test('a stapled response that says revoked is shown as revoked, with its dates', async (t) => {
  const host = `revoked.${freshDomain('ocsp')}`;
  const certificate = await makeCert({ names: [host], ca: partnerCa });
  const response = await makeOcspResponse(partnerCa, certificate, { index: [{ certificate, revokedAt: new Date(Date.now() - 60_000), reason: 'keyCompromise' }], minutes: 30 });
  const sink = await peer({ tls: 'starttls', implicit: true, cert: certificate, ocspStaple: response });
  dns.set(host, { A: ['127.0.0.1'] });
  const { stdout, json } = await probe(t, [`[${host}]:${sink.port}`, '--implicit'], configFor(t.testdir()));
  t.match(json.tls!.ocsp, { stapled: true, status: { kind: 'revoked', revokedAt: /^\d{4}-/, reason: 'keyCompromise', nextUpdate: /^\d{4}-/ } });
  t.match(stdout, /\n {2}OCSP +stapled, \d+ bytes: revoked at \S+Z \(keyCompromise\); thisUpdate \S+Z, nextUpdate \S+Z\n/);
});

t.test('published policies: an MTA-STS enforce policy, and DANE with DNSSEC-validated TLSA records', async (t) => {
  const domain = freshDomain('published');
  const listed = `mx1.${domain}`;
  const other = `mx2.${domain}`;
  const selfSigned = await makeCert({ names: [listed] });
  const sink = await peer({ tls: 'starttls', cert: selfSigned });
  const policyHost = await startPolicyHost({ cert: await makeCert({ names: [`mta-sts.${domain}`], ca: webCa }), policy: `version: STSv1\nmode: enforce\nmx: ${listed}\nmax_age: 86400\n` });
  peers.push({ close: () => policyHost.stop() });
  const spki = createHash('sha256').update(new X509Certificate(selfSigned.cert).publicKey.export({ type: 'spki', format: 'der' })).digest();
  dns.set(domain, { MX: [{ preference: 10, exchange: listed }, { preference: 20, exchange: other }], ad: true });
  dns.set(listed, { A: ['127.0.0.1'], ad: true });
  dns.set(other, { A: ['127.0.0.1'], ad: true });
  dns.set(`_${sink.port}._tcp.${listed}`, { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: spki }], ad: true });
  // a validated denial for the second host
  dns.set(`_${sink.port}._tcp.${other}`, { ad: true });
  dns.set(`_mta-sts.${domain}`, { TXT: ['v=STSv1; id=probe1'] });
  dns.set(`mta-sts.${domain}`, { A: [policyHost.address] });
  const file = configFor(t.testdir(), { port: sink.port, dnssec: true });
  const { code, stdout, json } = await probe(t, [domain], file);
  t.equal(code, 1, 'a self-signed certificate: verify would defer');
  t.match(json.published, { dane: { dnssec: true, finding: { kind: 'usable', owner: `_${sink.port}._tcp.${listed}` } }, mtaSts: { consulted: true, state: 'policy', mode: 'enforce', id: 'probe1', mx: [listed] } });
  // MTA-STS raises opportunistic to verify against the MX host, which a self-signed certificate fails
  t.match(levelOf(json, 'opportunistic'), { decidedBy: 'mta-sts', outcome: { action: 'defer', response: /^450 4\.7\.5 Server certificate not verified for host mx1\./ } });
  // the host publishes usable TLSA records: DANE judges it, and its record matches
  t.match(levelOf(json, 'dane'), { decidedBy: 'dane', outcome: { action: 'deliver-over-tls', verdict: 'dane' }, delivers: true });
  t.match(levelOf(json, 'dane-only'), { outcome: { action: 'deliver-over-tls', verdict: 'dane' } });
  t.match(levelOf(json, 'verify'), { decidedBy: 'connector', outcome: { action: 'defer' } }, "verify is the connector's own rule: DANE does not change it");
  t.match(stdout, /\n {2}dane +deliver over TLS \(logged dane\) \(decided by dane\)\n/);
  t.match(stdout, /\n {2}mode +enforce\n/);

  // a domain whose policy lists none of its MX hosts: under the levels MTA-STS raises, the host is not used
  const elsewhere = freshDomain('elsewhere');
  const lone = `mx.${elsewhere}`;
  const strictHost = await startPolicyHost({ cert: await makeCert({ names: [`mta-sts.${elsewhere}`], ca: webCa }), policy: `version: STSv1\nmode: enforce\nmx: mx.other.test\nmax_age: 86400\n` });
  peers.push({ close: () => strictHost.stop() });
  dns.set(elsewhere, { MX: [{ preference: 10, exchange: lone }] });
  dns.set(lone, { A: ['127.0.0.1'] });
  dns.set(`_mta-sts.${elsewhere}`, { TXT: ['v=STSv1; id=strict1'] });
  dns.set(`mta-sts.${elsewhere}`, { A: [strictHost.address] });
  const notListed = await probe(t, [elsewhere], file);
  t.match(levelOf(notListed.json, 'opportunistic'), { plan: 'skip', decidedBy: 'mta-sts', outcome: { action: 'not-used', response: `450 4.7.5 MX host ${lone} matches none of the MTA-STS policy's mx patterns (mx.other.test): not used` }, delivers: false });
  t.match(levelOf(notListed.json, 'verify-ca'), { plan: 'connect', decidedBy: 'connector' }, "verify-ca is the connector's own rule: the policy does not take the host away");
  t.match(notListed.stdout, /\n {2}opportunistic +not used: 450 4\.7\.5 /);

  // the MX host the policy leaves out: not used under the levels MTA-STS raises
  const unlisted = await probe(t, [`[${other}]:${sink.port}`], file);
  t.match(levelOf(unlisted.json, 'opportunistic'), { decidedBy: 'none' }, 'a host given by itself has no domain, so no MTA-STS');
  t.match(unlisted.json.published.dane.finding, { kind: 'none' }, 'a validated denial of TLSA for the second host');
});

t.test('errors exit 2; usage errors 64', async (t) => {
  const file = configFor(t.testdir());
  const closed = await freePort();
  const unreachable = await runCli(['tls', 'probe', `127.0.0.1:${closed}`, '--json', '-c', file]);
  t.equal(unreachable.code, 2);
  t.equal(unreachable.stdout, '', 'nothing on stdout, --json or not');
  t.match(unreachable.stderr, new RegExp(`^tlsrelay tls probe: 451 4\\.4\\.1 connect to 127\\.0\\.0\\.1: .*ECONNREFUSED`));

  const missing = freshDomain('missing');
  dns.set(missing, 'NXDOMAIN');
  const noRoute = await runCli(['tls', 'probe', missing, '-c', file]);
  t.equal(noRoute.code, 2);
  t.match(noRoute.stderr, `tlsrelay tls probe: 550 5.1.2 Host or domain name not found. Name service error for name=${missing} type=MX: Host not found\n`);

  const unknown = await runCli(['tls', 'probe', '127.0.0.1:25', '--connector', 'nope', '-c', file]);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^no outbound connector is named "nope" in .*tlsrelay\.yaml \(it has none\)\n$/);

  for (const [args, reason] of [
    [['tls', 'probe'], 'probe needs a HOST'],
    [['tls', 'probe', 'a..b'], '"a..b" is not a mail domain'],
    [['tls', 'probe', '[a..b]:25'], '"[a..b]:25" is not a mail domain'],
    [['tls', 'probe', 'x.test', '--starttls', '--implicit'], '--starttls and --implicit exclude each other'],
    [['tls', 'probe', 'x.test', '--name', 'not a name'], '--name "not a name" is not a host name'],
    [['tls', 'scan', 'x.test'], 'unknown subcommand "scan"'],
  ] as const) {
    const result = await runCli([...args, '-c', file]);
    t.equal(result.code, 64, args.join(' '));
    t.match(result.stderr, `tlsrelay tls: ${reason}`);
  }
});

t.test('a real Postfix smtpd with STARTTLS', needsPostfix(), async (t) => {
  const host = `postfix.${freshDomain('postfix')}`;
  const certificate = await makeCert({ names: [host], ca: partnerCa });
  const postfix = await startPostfix({
    files: { 'smtpd.crt': certificate.cert, 'smtpd.key': certificate.key },
    main: (etc) => ({ smtpd_tls_security_level: 'may', smtpd_tls_chain_files: `${etc}/smtpd.key, ${etc}/smtpd.crt`, myhostname: host }),
  });
  peers.push({ close: () => postfix.stop() });
  dns.set(host, { A: ['127.0.0.1'] });
  const { code, json } = await probe(t, [`[${host}]:${postfix.port}`], configFor(t.testdir()));
  t.equal(code, 0);
  t.match(json.dialogue, [{ reply: 'greeting', lines: [new RegExp(`^220 ${host.replace(/\./g, '\\.')} ESMTP Postfix`)] }, { reply: 'EHLO' }, { reply: 'STARTTLS', lines: ['220 2.0.0 Ready to start TLS'] }, { reply: 'EHLO' }]);
  t.ok(json.dialogue[1]!.lines.includes('250-STARTTLS'), "Postfix's plaintext EHLO offers STARTTLS");
  t.match(json.tls, { protocol: 'TLSv1.3', trusted: true, names: { matched: true }, certificates: [{ subject: `CN=${host}`, key: { type: 'EC', curve: 'P-256' } }] });
  t.match(json.result, { level: 'verify', outcome: { action: 'deliver-over-tls', verdict: 'verified' } });
});
