// Every TLS level end to end: the relay as a child process delivers to real peers —
// smtp-server instances whose certificates (self-signed, unknown CA, wrong name, expired,
// revoked by a CRL from `openssl ca`, valid) are made here, and scripted ones that do not
// offer STARTTLS, refuse it or break the handshake — and every attempt is judged by its
// log line (outcome, the exact deferral text, the certificate verdict) and by what the
// peer saw (TLS or plaintext, STARTTLS or not).
import { createHash, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startDnsServer } from '../helpers/dnsServer.js';
import { startSink, type Sink, type SinkOptions } from '../helpers/peers.js';
import { makeCa, makeCert, makeCrl, type KeyPair } from '../helpers/pki.js';
import { startRelay, writeConfig, type LogLine } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

const DAY = 86_400_000;
const HOST = '127.0.0.1';
/** The MX of MX_DOMAIN in the test's DNS server. */
const MX_DOMAIN = 'mx-routed.test';
const MX_HOST = 'mx.mx-routed.test';

const sha256 = (der: Buffer): string => createHash('sha256').update(der).digest('hex');
const certificateDer = (pair: KeyPair): Buffer => new X509Certificate(pair.cert).raw;
const spkiDer = (pair: KeyPair): Buffer => new X509Certificate(pair.cert).publicKey.export({ type: 'spki', format: 'der' });

// --- the peers ---------------------------------------------------------------------

const ca = await makeCa('tlsrelay test CA');
const secondCa = await makeCa('second trusted CA');
const unknownCa = await makeCa('CA nobody trusts');
/** What the host dialled (127.0.0.1) needs for `verify`: an IP SAN. */
const named = { names: ['mx.partner.test'], ips: [HOST] };
const certs = {
  selfSigned: await makeCert(named),
  unknownCa: await makeCert({ ...named, ca: unknownCa }),
  wrongName: await makeCert({ names: ['other.test'], ca }),
  expired: await makeCert({ ...named, ca, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) }),
  revoked: await makeCert({ ...named, ca }),
  valid: await makeCert({ ...named, ca }),
  wildcard: await makeCert({ names: ['*.fabrikam.test'], ca }),
  /** Signed by a trusted CA that has no CRL in the config. */
  secondCa: await makeCert({ ...named, ca: secondCa }),
  /** Revoked by the second CA, whose CRL only one connector lists. */
  revokedBySecondCa: await makeCert({ ...named, ca: secondCa }),
  expiredByName: await makeCert({ names: ['mx1.fabrikam.test'], ca, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) }),
  /** Names the MX host only: no IP SAN, so only the MX name dialled can verify it. */
  mxHost: await makeCert({ names: [MX_HOST], ca }),
};
const relayCert = await makeCert({ names: ['relay.test'], ca, clientAuth: true });

type Case = 'notOffered' | 'refused454' | 'handshakeFails' | 'selfSigned' | 'unknownCa' | 'wrongName' | 'expired' | 'revoked' | 'valid';
const CASES: Case[] = ['notOffered', 'refused454', 'handshakeFails', 'selfSigned', 'unknownCa', 'wrongName', 'expired', 'revoked', 'valid'];

const peerOf: Record<Case, SinkOptions> = {
  notOffered: { tls: 'none' },
  refused454: { tls: 'refuse-starttls' },
  handshakeFails: { tls: 'broken-handshake' },
  selfSigned: { tls: 'starttls', cert: certs.selfSigned },
  unknownCa: { tls: 'starttls', cert: certs.unknownCa },
  wrongName: { tls: 'starttls', cert: certs.wrongName },
  expired: { tls: 'starttls', cert: certs.expired },
  revoked: { tls: 'starttls', cert: certs.revoked },
  valid: { tls: 'starttls', cert: certs.valid },
};

// --- what each level must do ----------------------------------------------------------

type Level = 'none' | 'opportunistic' | 'encrypt' | 'verify-ca' | 'verify' | 'fingerprint';
const LEVELS: Level[] = ['none', 'opportunistic', 'encrypt', 'verify-ca', 'verify', 'fingerprint'];

interface Expected {
  /** Deferral text (the whole response line), or undefined for delivered. */
  deferred?: string | RegExp;
  /** Delivered with verdict `none` means in plaintext; with any other, inside TLS. */
  verdict: 'verified' | 'trusted' | 'pinned' | 'untrusted' | 'none';
  /** The session it went over, when not TLS 1.3 with whatever cipher. */
  tls?: { protocol: 'TLSv1.2'; cipher: string };
  /** Whether the peer saw STARTTLS on the connection that carried the message, where the case is about it. */
  starttls?: boolean;
  /** Opportunistic's plaintext fallback: the broken TLS connection is an attempt of its own, logged first with this text. */
  fallback?: RegExp;
}

const notVerified = (reason: string, host = HOST): string => `450 4.7.5 Server certificate not verified for host ${host}: ${reason}`;
const noPin = (pair: KeyPair): string =>
  notVerified(`no configured fingerprint matches the certificate (sha256:${sha256(certificateDer(pair))}) or its public key`);

const beforeTls: Record<'notOffered' | 'refused454' | 'handshakeFails', Expected> = {
  notOffered: { deferred: `450 4.7.4 TLS is required, but was not offered by host ${HOST}`, verdict: 'none' },
  refused454: { deferred: `450 4.7.5 TLS is required, but host ${HOST} refused to start TLS: 454 4.7.0 TLS not available due to local problem`, verdict: 'none' },
  handshakeFails: { deferred: /^450 4\.7\.5 Cannot start TLS: handshake failure: \S/, verdict: 'none' },
};
const REASONS = {
  selfSigned: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)',
  unknownCa: 'issuer not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
  wrongName: `the certificate names none of ${HOST} (it has DNS:other.test)`,
  expired: 'certificate has expired (CERT_HAS_EXPIRED)',
  revoked: 'certificate has been revoked (CERT_REVOKED)',
};
/** The verdict says what the certificate proves, whatever the level asked for. */
const VERDICTS = { selfSigned: 'untrusted', unknownCa: 'untrusted', wrongName: 'trusted', expired: 'untrusted', revoked: 'untrusted', valid: 'verified' } as const;

const delivered = (c: keyof typeof VERDICTS): Expected => ({ verdict: VERDICTS[c] });
const refused = (c: keyof typeof REASONS): Expected => ({ deferred: notVerified(REASONS[c]), verdict: VERDICTS[c] });
const unpinned = (c: keyof typeof VERDICTS): Expected => ({ deferred: noPin(certs[c]), verdict: VERDICTS[c] });

const inPlaintext = (starttls: boolean): Expected => ({ verdict: 'none', starttls });
const FALLBACK = /^450 4\.7\.5 Cannot start TLS: handshake failure: \S.*; retrying in plaintext$/;

const expectations: Record<Level, Record<Case, Expected>> = {
  // never tries TLS, whatever the peer offers
  none: Object.fromEntries(CASES.map((c) => [c, inPlaintext(false)])) as Record<Case, Expected>,
  // delivers in every case; the verdict says what the certificate proved
  opportunistic: {
    notOffered: inPlaintext(false),
    refused454: inPlaintext(true),
    handshakeFails: { ...inPlaintext(false), fallback: FALLBACK },
    selfSigned: delivered('selfSigned'),
    unknownCa: delivered('unknownCa'),
    wrongName: delivered('wrongName'),
    expired: delivered('expired'),
    revoked: delivered('revoked'),
    valid: delivered('valid'),
  },
  encrypt: { ...beforeTls, selfSigned: delivered('selfSigned'), unknownCa: delivered('unknownCa'), wrongName: delivered('wrongName'), expired: delivered('expired'), revoked: delivered('revoked'), valid: delivered('valid') },
  'verify-ca': { ...beforeTls, selfSigned: refused('selfSigned'), unknownCa: refused('unknownCa'), wrongName: delivered('wrongName'), expired: refused('expired'), revoked: refused('revoked'), valid: delivered('valid') },
  verify: { ...beforeTls, selfSigned: refused('selfSigned'), unknownCa: refused('unknownCa'), wrongName: refused('wrongName'), expired: refused('expired'), revoked: refused('revoked'), valid: delivered('valid') },
  // pins the valid certificate only: everything else is refused, chain or not
  fingerprint: { ...beforeTls, selfSigned: unpinned('selfSigned'), unknownCa: unpinned('unknownCa'), wrongName: unpinned('wrongName'), expired: unpinned('expired'), revoked: unpinned('revoked'), valid: { verdict: 'pinned' } },
};

// --- the cases beyond the matrix -----------------------------------------------------------

interface Extra {
  domain: string;
  /** The connector, without name, domains and smartHosts. */
  connector: string;
  peer: SinkOptions;
  /**
   * How the relay finds the peer: as smart host by its IP (the default) or by the name
   * mx1.fabrikam.test, or as the MX of the domain (MX_DOMAIN only: delivery.port is one
   * for all MX routes). Names resolve through the test's DNS server.
   */
  route?: 'smart-host-name' | 'mx';
  expected: Expected;
  why: string;
}

/** A TLS 1.2 peer with one suite, for connectors whose `ciphers` do or do not include it. */
const TLS12_PEER: SinkOptions = { tls: 'starttls', cert: certs.valid, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' };

/** The colon form `openssl x509 -fingerprint -sha256` prints, to prove the config takes it. */
const colonPin = (der: Buffer): string => `sha256:${sha256(der).toUpperCase().replace(/(..)(?!$)/g, '$1:')}`;

const extras: Extra[] = [
  {
    domain: 'pin-certificate.test',
    connector: `tls: fingerprint, fingerprints: ["${colonPin(certificateDer(certs.selfSigned))}"]`,
    peer: { tls: 'starttls', cert: certs.selfSigned },
    expected: { verdict: 'pinned' },
    why: 'fingerprint of the certificate: a self-signed peer is delivered to (chain not checked)',
  },
  {
    domain: 'pin-spki.test',
    connector: `tls: fingerprint, fingerprints: ["sha256:${sha256(spkiDer(certs.expired))}"]`,
    peer: { tls: 'starttls', cert: certs.expired },
    expected: { verdict: 'pinned' },
    why: 'fingerprint of the public key: an expired certificate with the pinned key is delivered to',
  },
  {
    domain: 'wildcard.test',
    connector: 'tls: verify, tlsNames: [mx1.fabrikam.test]',
    peer: { tls: 'starttls', cert: certs.wildcard },
    expected: { verdict: 'verified' },
    why: 'tlsNames: a wildcard certificate *.fabrikam.test names mx1.fabrikam.test',
  },
  {
    domain: 'wildcard-two-labels.test',
    connector: 'tls: verify, tlsNames: [a.mx1.fabrikam.test]',
    peer: { tls: 'starttls', cert: certs.wildcard },
    expected: { deferred: notVerified('the certificate names none of a.mx1.fabrikam.test (it has DNS:*.fabrikam.test)'), verdict: 'trusted' },
    why: 'tlsNames: a wildcard stands for one label only (RFC 6125)',
  },
  {
    domain: 'by-name.test',
    connector: 'tls: verify',
    peer: { tls: 'starttls', cert: certs.expiredByName },
    route: 'smart-host-name',
    expected: { deferred: notVerified(REASONS.expired, `mx1.fabrikam.test[${HOST}]`), verdict: 'untrusted' },
    why: 'a smart host dialled by name is named with its address in the text',
  },
  {
    domain: MX_DOMAIN,
    connector: 'tls: verify',
    peer: { tls: 'starttls', cert: certs.mxHost },
    route: 'mx',
    expected: { verdict: 'verified' },
    why: 'verify without tlsNames: a certificate for the MX host name dialled verifies',
  },
  {
    domain: 'ciphers-disjoint.test',
    connector: 'tls: encrypt, minVersion: TLSv1.2, ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"',
    peer: TLS12_PEER,
    // the peer's alert, as OpenSSL words it
    expected: { deferred: '450 4.7.5 Cannot start TLS: handshake failure: sslv3 alert handshake failure', verdict: 'none' },
    why: "ciphers: a TLS 1.2 peer sharing no suite with the connector's list gets no session (Node's default list would have shared one)",
  },
  {
    domain: 'ciphers-shared.test',
    connector: 'tls: encrypt, minVersion: TLSv1.2, ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"',
    peer: TLS12_PEER,
    expected: { verdict: 'verified', tls: { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' } },
    why: "ciphers: the suite the connector's list shares with the TLS 1.2 peer is used",
  },
  {
    domain: 'second-ca.test',
    connector: 'tls: verify',
    peer: { tls: 'starttls', cert: certs.secondCa },
    expected: { verdict: 'verified' },
    why: 'tls.crl lists only the first CA: a chain of another trusted CA still verifies (no UNABLE_TO_GET_CRL)',
  },
  {
    domain: 'connector-crl.test',
    connector: 'tls: verify, crl: [second.crl]',
    peer: { tls: 'starttls', cert: certs.revokedBySecondCa },
    expected: { deferred: notVerified(REASONS.revoked), verdict: 'untrusted' },
    why: "a connector's own crl revokes the certificate for that connector",
  },
  {
    domain: 'without-connector-crl.test',
    connector: 'tls: verify',
    peer: { tls: 'starttls', cert: certs.revokedBySecondCa },
    expected: { verdict: 'verified' },
    why: "another connector's crl does not apply here",
  },
  {
    domain: 'tls13-only.test',
    connector: 'tls: encrypt, minVersion: TLSv1.3',
    peer: { tls: 'starttls', cert: certs.valid, maxVersion: 'TLSv1.2' },
    expected: { deferred: /^450 4\.7\.5 Cannot start TLS: handshake failure: .*(protocol|version)/i, verdict: 'none' },
    why: 'minVersion TLSv1.3 against a peer capped at TLS 1.2: no session, no fallback to an older version',
  },
  {
    domain: 'client-certificate.test',
    connector: 'tls: verify, clientCertificate: true',
    peer: { tls: 'starttls', cert: certs.valid, requestCert: true },
    expected: { verdict: 'verified' },
    why: 'clientCertificate: true presents tls.cert to the next hop',
  },
  {
    domain: 'no-client-certificate.test',
    connector: 'tls: verify',
    peer: { tls: 'starttls', cert: certs.valid, requestCert: true },
    expected: { verdict: 'verified' },
    why: 'without clientCertificate the relay presents none, even when asked',
  },
];

const domainOf = (level: Level, c: Case): string => `${c.toLowerCase()}.${level}.test`;

t.test('every certificate level against every kind of peer, through the relay process', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), `${ca.cert}\n${secondCa.cert}`);
  writeFileSync(join(dir, 'first.crl'), await makeCrl(ca, { revoked: [certs.revoked.cert] }));
  writeFileSync(join(dir, 'second.crl'), await makeCrl(secondCa, { revoked: [certs.revokedBySecondCa.cert] }));
  writeFileSync(join(dir, 'relay.crt'), relayCert.cert);
  writeFileSync(join(dir, 'relay.key'), relayCert.key);

  const sinks: Sink[] = [];
  const sinkFor = async (options: SinkOptions): Promise<Sink> => {
    const sink = await startSink(options);
    sinks.push(sink);
    return sink;
  };
  const dns = await startDnsServer({
    'mx1.fabrikam.test': { A: [HOST] },
    [MX_DOMAIN]: { MX: [{ preference: 10, exchange: MX_HOST }] },
    [MX_HOST]: { A: [HOST] },
  });
  t.teardown(async () => {
    for (const sink of sinks) await sink.close();
    await dns.close();
  });

  const sinkOfDomain = new Map<string, Sink>();
  const connectors: string[] = [];
  const expectedOf = new Map<string, { expected: Expected; why: string }>();
  const caseSinks = new Map<Case, Sink>();
  for (const c of CASES) caseSinks.set(c, await sinkFor(peerOf[c]));
  for (const level of LEVELS) {
    for (const c of CASES) {
      const domain = domainOf(level, c);
      const sink = caseSinks.get(c)!;
      sinkOfDomain.set(domain, sink);
      const pins = level === 'fingerprint' ? `, fingerprints: ["sha256:${sha256(certificateDer(certs.valid))}"]` : '';
      connectors.push(`  - { name: ${level}-${c}, domains: [${domain}], smartHosts: ["${HOST}:${sink.port}"], tls: ${level}${pins} }`);
      expectedOf.set(domain, { expected: expectations[level][c], why: `${level} × ${c}` });
    }
  }
  let mxPort: number | undefined;
  for (const extra of extras) {
    const sink = await sinkFor(extra.peer);
    sinkOfDomain.set(extra.domain, sink);
    if (extra.route === 'mx') mxPort = sink.port;
    const smartHost = extra.route === 'mx' ? '' : `smartHosts: ["${extra.route === 'smart-host-name' ? 'mx1.fabrikam.test' : HOST}:${sink.port}"], `;
    connectors.push(`  - { name: ${extra.domain.replace('.test', '')}, domains: [${extra.domain}], ${smartHost}${extra.connector} }`);
    expectedOf.set(extra.domain, { expected: extra.expected, why: extra.why });
  }

  const relay = startRelay(
    writeConfig(
      dir,
      `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, trust: [ca.crt], crl: [first.crl] }
dns: { servers: ["${HOST}:${dns.port}"] }
delivery: { port: ${mxPort} }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
${connectors.join('\n')}
`,
    ),
  );
  t.teardown(() => relay.stop());
  const port = await relay.port();

  // one message for every domain: each domain is its own delivery, with its own log lines
  const domains = [...expectedOf.keys()];
  const submitted = await submit({ port, from: 'sender@client.test', to: domains.map((domain) => `user@${domain}`), data: sampleMessage('tls verification') });
  if (!submitted.ok) throw new Error(`the relay refused the message: ${submitted.response}`);
  const queueId = /queued as ([0-9a-f]+)/.exec(submitted.response)![1]!;
  const isAttempt = (line: LogLine, domain: string): boolean => line.msg === 'delivery attempt' && line.queueId === queueId && line.domain === domain;
  // the attempt that settled the domain: not the broken TLS connection an opportunistic fallback logs first
  const settling = await Promise.all(
    domains.map((domain) =>
      relay.waitForLog((line) => isAttempt(line, domain) && !/; retrying in plaintext$/.test(String(line.response)), `the attempt for ${domain}`),
    ),
  );

  for (const [index, domain] of domains.entries()) {
    const { expected, why } = expectedOf.get(domain)!;
    const attempt: LogLine = settling[index]!;
    const attempts = relay.logs.filter((line) => isAttempt(line, domain));
    const got = sinkOfDomain.get(domain)!.received.filter((message) => message.to.includes(`user@${domain}`));
    t.equal(attempt.verdict, expected.verdict, `${why}: verdict ${expected.verdict}`);
    t.equal(attempts.length, expected.fallback ? 2 : 1, `${why}: ${expected.fallback ? 'a TLS connection, then a plaintext one' : 'one connection'}`);
    if (expected.fallback) t.match(attempts[0], { outcome: 'deferred', code: 450, tls: null, verdict: 'none', response: expected.fallback }, `${why}: the broken TLS connection logged first`);
    if (expected.deferred === undefined) {
      t.match(attempt, { outcome: 'delivered', code: 250 }, `${why}: delivered`);
      t.equal(got.length, 1, `${why}: the peer has the message`);
      if (expected.verdict === 'none') {
        t.equal(attempt.tls, null, `${why}: logged as plaintext`);
        t.equal(got[0]?.secure, false, `${why}: plaintext on the wire`);
      } else {
        const tls = expected.tls ?? { protocol: 'TLSv1.3' };
        t.match(attempt.tls, tls, `${why}: over ${tls.protocol}`);
        t.match(got[0], tls, `${why}: ${tls.protocol} on the wire`);
      }
      if (expected.starttls !== undefined) t.equal(got[0]?.starttls, expected.starttls, `${why}: ${expected.starttls ? 'STARTTLS was tried' : 'no STARTTLS'} on that connection`);
    } else {
      t.match(attempt, { outcome: 'deferred', code: 450 }, `${why}: deferred`);
      if (typeof expected.deferred === 'string') t.equal(attempt.response, expected.deferred, `${why}: deferral text`);
      else t.match(attempt.response, expected.deferred, `${why}: deferral text`);
      t.equal(got.length, 0, `${why}: no MAIL reached the peer`);
      t.equal(attempt.tls === null, expected.verdict === 'none', `${why}: tls facts only when a session was established`);
    }
  }

  const byMx = settling[domains.indexOf(MX_DOMAIN)]!;
  t.equal(byMx.host, `${MX_HOST}[${HOST}]:${mxPort}`, 'the MX host was dialled by its name');
  t.equal(sinkOfDomain.get(MX_DOMAIN)!.received[0]?.servername, MX_HOST, 'and asked for by that name (SNI)');
  const withClientCert = sinkOfDomain.get('client-certificate.test')!.received[0];
  t.equal(withClientCert?.clientCertificate, 'relay.test', 'the next hop saw the relay certificate (clientCertificate: true)');
  const withoutClientCert = sinkOfDomain.get('no-client-certificate.test')!.received[0];
  t.equal(withoutClientCert?.clientCertificate, null, 'asked for one, the relay without clientCertificate presented none');
});
