// replaySession, table-driven: one recorded session and the connector of another config →
// what it would have come to. Each row changes one fact or one key, so that a row breaks
// when the replay reads that fact or key wrongly.
import t from 'tap';
import type { OutboundConnector } from '../../src/config/types.js';
import { noCertificate, type ObservedSession, type ObservedTls } from '../../src/policy/observedTls.js';
import type { TransitRecord } from '../../src/transit/record.js';
import { replaySession, type ReplayOutcome } from '../../src/transit/replay.js';
import { testConnector } from '../helpers/testConfig.js';
import { sessionRecord } from '../helpers/transitRecords.js';

const HOST = 'mx.fabrikam.test';
const IP = '192.0.2.7';
const PEER = `${HOST}[${IP}]`;
const CERT_SHA = 'a'.repeat(64);
const SPKI_SHA = 'b'.repeat(64);
const TLSA = '3 1 1 bbbbbbbbbbbb…';

function established(fields: Partial<ObservedSession> = {}, names: string[] = [HOST]): ObservedSession {
  return {
    kind: 'established',
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    chainValid: true,
    certificate: { dnsNames: names, ipAddresses: [], commonNames: [], sha256: CERT_SHA, spkiSha256: SPKI_SHA },
    ...fields,
  };
}

const untrusted = { chainValid: false, chainError: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', chainFailure: 'certificate-not-trusted' as const };
const expired = { chainValid: false, chainError: 'certificate has expired (CERT_HAS_EXPIRED)', chainFailure: 'certificate-expired' as const };

/** A session to the MX host of fabrikam.test that the implicit default delivered: MTA-STS asked, no policy. */
function recorded(observed: ObservedTls | undefined, fields: Partial<TransitRecord> = {}): TransitRecord {
  return sessionRecord({
    domain: 'fabrikam.test',
    connector: 'default',
    host: HOST,
    ip: IP,
    route: 'mx',
    policy: { source: 'none' },
    verdict: 'untrusted',
    published: { mtaSts: { kind: 'none', reason: 'no _mta-sts TXT record' } },
    messages: 4,
    delivered: 4,
    ...(observed === undefined ? {} : { observed }),
    ...fields,
  });
}

const connector = (fields: Partial<OutboundConnector>): OutboundConnector => testConnector({ name: 'fabrikam', domains: ['fabrikam.test'], ...fields });
const target = (fields: Partial<OutboundConnector>, mxPort = 25) => ({ connector: connector(fields), mxPort });

const enforce = (mx: string[]) => ({ kind: 'policy' as const, policy: { mode: 'enforce' as const, mx }, id: '20261201', text: `version: STSv1\nmode: enforce\nmx: ${mx.join('\nmx: ')}\nmax_age: 86400` });
const testing = { kind: 'policy' as const, policy: { mode: 'testing' as const, mx: ['other.test'] }, id: '7', text: 'version: STSv1\nmode: testing\nmx: other.test\nmax_age: 86400' };

const deferred = (reason: string, failure: string, text: string | RegExp) => ({ kind: 'defers', reason, failure, text });

// [what the row shows, the record, the new connector (and MX port), what the replay says]
const CASES: Array<[string, TransitRecord, ReturnType<typeof target>, Record<string, unknown>]> = [
  ['verify, a certificate for the host and a valid chain: delivered, verified', recorded(established()), target({ tls: 'verify' }), { kind: 'delivers', verdict: 'verified', tls: { protocol: 'TLSv1.3' }, policy: { source: 'connector', level: 'verify' } }],
  [
    'verify, a certificate for another name',
    recorded(established({}, ['other.test'])),
    target({ tls: 'verify' }),
    deferred('certificate-name', 'certificate-host-mismatch', `450 4.7.5 Server certificate not verified for host ${PEER}: the certificate names none of ${HOST} (it has DNS:other.test)`),
  ],
  ['verify with tlsNames that the certificate carries', recorded(established({}, ['*.other.test'])), target({ tls: 'verify', tlsNames: ['mail.other.test'] }), { kind: 'delivers', verdict: 'verified' }],
  ['verify-ca does not look at the name', recorded(established({}, ['other.test'])), target({ tls: 'verify-ca' }), { kind: 'delivers', verdict: 'trusted', policy: { source: 'connector', level: 'verify-ca' } }],
  ['verify-ca, a self-signed chain', recorded(established(untrusted)), target({ tls: 'verify-ca' }), deferred('certificate-chain', 'certificate-not-trusted', /: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/)],
  ['verify, an expired certificate', recorded(established(expired)), target({ tls: 'verify' }), deferred('certificate-expired', 'certificate-expired', /certificate has expired/)],
  ['encrypt takes any certificate', recorded(established(untrusted, ['other.test'])), target({ tls: 'encrypt' }), { kind: 'delivers', verdict: 'untrusted', policy: { source: 'connector', level: 'encrypt' } }],
  ['fingerprint, the SPKI pinned', recorded(established(untrusted)), target({ tls: 'fingerprint', fingerprints: [SPKI_SHA] }), { kind: 'delivers', verdict: 'pinned' }],
  ['fingerprint, the certificate pinned', recorded(established(untrusted)), target({ tls: 'fingerprint', fingerprints: [CERT_SHA] }), { kind: 'delivers', verdict: 'pinned' }],
  ['fingerprint, another pin', recorded(established()), target({ tls: 'fingerprint', fingerprints: ['c'.repeat(64)] }), deferred('fingerprint', 'validation-failure', new RegExp(`no configured fingerprint matches the certificate \\(sha256:${CERT_SHA}\\)`))],
  ['verify, no certificate presented', recorded(noCertificate('TLSv1.2', 'ADH-AES256-GCM-SHA384', false)), target({ tls: 'verify' }), deferred('certificate-chain', 'validation-failure', /: the server presented no certificate$/)],
  [
    'dane-only, no certificate presented to match the TLSA records against',
    recorded(noCertificate('TLSv1.2', 'ADH-AES256-GCM-SHA384', true), { published: { tlsa: { kind: 'usable', owner: `_25._tcp.${HOST}`, usable: [TLSA], unusable: [] } } }),
    target({ tls: 'dane-only' }),
    deferred('dane', 'tlsa-invalid', /: the server presented no certificate$/),
  ],
  ['encrypt, STARTTLS not offered', recorded({ kind: 'starttls-not-offered' }, { tls: null, verdict: 'none' }), target({ tls: 'encrypt' }), deferred('starttls-not-offered', 'starttls-not-supported', `450 4.7.4 TLS is required, but was not offered by host ${PEER}`)],
  ['opportunistic, STARTTLS not offered: plaintext as before', recorded({ kind: 'starttls-not-offered' }, { tls: null, verdict: 'none' }), target({ tls: 'opportunistic', mtaSts: false }), { kind: 'delivers', tls: null, verdict: 'none', policy: { source: 'none' } }],
  ['verify, STARTTLS refused', recorded({ kind: 'starttls-refused', reply: '454 4.7.0 TLS not available', closed: false }, { tls: null }), target({ tls: 'verify' }), deferred('starttls-refused', 'starttls-not-supported', `450 4.7.5 TLS is required, but host ${PEER} refused to start TLS: 454 4.7.0 TLS not available`)],
  ['opportunistic, a broken handshake: retried in plaintext', recorded({ kind: 'handshake-failed', reason: 'wrong version number' }, { tls: null, delivered: 0, outcome: 'deferred' }), target({ tls: 'opportunistic', mtaSts: false }), { kind: 'falls-back', text: '4.7.5 Cannot start TLS: handshake failure: wrong version number' }],
  ['the plaintext retry after it still delivers', recorded({ kind: 'handshake-failed', reason: 'wrong version number' }, { tls: null, fallback: true }), target({ tls: 'opportunistic', mtaSts: false }), { kind: 'delivers', tls: null, verdict: 'none' }],
  ['the plaintext retry under verify: deferred', recorded({ kind: 'handshake-failed', reason: 'wrong version number' }, { tls: null, fallback: true }), target({ tls: 'verify' }), deferred('handshake-failed', 'validation-failure', '450 4.7.5 Cannot start TLS: handshake failure: wrong version number')],
  ['opportunistic without plaintextFallback, a broken handshake', recorded({ kind: 'handshake-failed', reason: 'x' }, { tls: null }), target({ tls: 'opportunistic', mtaSts: false, plaintextFallback: false }), deferred('handshake-failed', 'validation-failure', /handshake failure: x$/)],
  ['level none never tries TLS: plaintext', recorded(established(untrusted)), target({ tls: 'none', mtaSts: false }), { kind: 'delivers', tls: null, verdict: 'none', policy: { source: 'none' } }],
  ['minVersion TLSv1.3 against a TLS 1.2 session', recorded(established({ protocol: 'TLSv1.2' })), target({ tls: 'verify', minVersion: 'TLSv1.3' }), deferred('below-min-version', 'validation-failure', /negotiated TLSv1\.2 at most, below the connector's minVersion TLSv1\.3/)],
  ['minVersion TLSv1.3 under opportunistic: retried in plaintext', recorded(established({ protocol: 'TLSv1.2' })), target({ tls: 'opportunistic', mtaSts: false, minVersion: 'TLSv1.3' }), { kind: 'falls-back' }],
  ['minVersion TLSv1.3 against a TLS 1.3 session', recorded(established()), target({ tls: 'verify', minVersion: 'TLSv1.3' }), { kind: 'delivers', verdict: 'verified' }],
  ['level none then, STARTTLS not offered: encrypt defers', recorded({ kind: 'no-tls-attempted', starttlsOffered: false }, { tls: null }), target({ tls: 'encrypt' }), deferred('starttls-not-offered', 'starttls-not-supported', /was not offered by host/)],
  ['level none then, STARTTLS offered but never tried', recorded({ kind: 'no-tls-attempted', starttlsOffered: true }, { tls: null }), target({ tls: 'encrypt' }), { kind: 'cannot-tell', reason: 'tls-not-tried' }],
  ['a record from before the relay kept the facts', recorded(undefined, { route: undefined, published: undefined }), target({ tls: 'verify' }), { kind: 'cannot-tell', reason: 'not-recorded' }],
  ['a record with a route but no observation', recorded(undefined), target({ tls: 'verify' }), { kind: 'cannot-tell', reason: 'not-recorded' }],
  ['the new connector goes to a smart host', recorded(established()), target({ tls: 'verify', smartHosts: [{ host: 'relay.fabrikam.test', port: 25 }] }), { kind: 'cannot-tell', reason: 'other-route' }],
  ['the new connector keeps the smart host the session went to', recorded(established(), { route: 'smart-host', port: 2525 }), target({ tls: 'verify', smartHosts: [{ host: HOST, port: 2525 }] }), { kind: 'delivers', verdict: 'verified' }],
  ['a smart-host session, the new connector routes by MX', recorded(established(), { route: 'smart-host' }), target({ tls: 'verify' }), { kind: 'cannot-tell', reason: 'other-route' }],
  ['the new config dials MX hosts on another port', recorded(established()), target({ tls: 'verify' }, 2525), { kind: 'cannot-tell', reason: 'other-route' }],
  ['MTA-STS asked now, not then', recorded(established(), { published: undefined }), target({ tls: 'opportunistic' }), { kind: 'cannot-tell', reason: 'mta-sts-not-looked-up' }],
  ['TLS-Required: No then: MTA-STS not asked, nothing missing', recorded(established(), { published: undefined, tlsRequiredNo: true }), target({ tls: 'opportunistic' }), { kind: 'delivers', policy: { source: 'none' } }],
  [
    'MTA-STS enforce names the host: verify against it',
    recorded(established({}, ['other.test']), { published: { mtaSts: enforce([HOST]) } }),
    target({ tls: 'opportunistic' }),
    deferred('certificate-name', 'certificate-host-mismatch', /names none of mx\.fabrikam\.test/),
  ],
  ['MTA-STS enforce names another host: not used', recorded(established(), { published: { mtaSts: enforce(['mx9.fabrikam.test']) } }), target({ tls: 'encrypt' }), deferred('not-in-mta-sts', 'validation-failure', `450 4.7.5 MX host ${HOST} matches none of the MTA-STS policy's mx patterns (mx9.fabrikam.test): not used`)],
  ['MTA-STS testing: delivered as the level says', recorded(established({}, ['other.test']), { published: { mtaSts: testing } }), target({ tls: 'opportunistic' }), { kind: 'delivers', policy: { source: 'mta-sts', mode: 'testing' } }],
  ['MTA-STS not available then: as without a policy', recorded(established(), { published: { mtaSts: { kind: 'unavailable', failure: { resultType: 'sts-policy-fetch-error', reason: 'timeout' } } } }), target({ tls: 'encrypt' }), { kind: 'delivers', policy: { source: 'connector', level: 'encrypt' } }],
  ['DANE asked now, not then', recorded(established()), target({ tls: 'dane', mtaSts: false }), { kind: 'cannot-tell', reason: 'tlsa-not-looked-up' }],
  [
    'dane, usable TLSA records and a match then',
    recorded(established({ dane: { kind: 'matched', record: TLSA } }), { published: { tlsa: { kind: 'usable', owner: `_25._tcp.${HOST}`, usable: [TLSA], unusable: [] } } }),
    target({ tls: 'dane', mtaSts: false }),
    { kind: 'delivers', verdict: 'dane', policy: { source: 'dane', tlsa: [TLSA] } },
  ],
  [
    'dane-only, usable TLSA records that did not match',
    recorded(established({ dane: { kind: 'failed', reason: 'no TLSA record matches' } }), { published: { tlsa: { kind: 'usable', owner: `_25._tcp.${HOST}`, usable: [TLSA], unusable: [] } } }),
    target({ tls: 'dane-only' }),
    deferred('dane', 'tlsa-invalid', /: no TLSA record matches$/),
  ],
  [
    'dane, usable TLSA records, the certificate never matched against them',
    recorded(established(), { published: { tlsa: { kind: 'usable', owner: `_25._tcp.${HOST}`, usable: [TLSA], unusable: [] } } }),
    target({ tls: 'dane', mtaSts: false }),
    { kind: 'cannot-tell', reason: 'dane-not-matched' },
  ],
  ['a DANE match then does not make verify DANE', recorded(established({ dane: { kind: 'matched', record: TLSA } })), target({ tls: 'verify' }), { kind: 'delivers', verdict: 'verified' }],
  ['dane-only, a TLSA lookup that failed', recorded(established(), { published: { tlsa: { kind: 'failed', owner: `_25._tcp.${HOST}`, error: 'SERVFAIL' } } }), target({ tls: 'dane-only' }), deferred('tlsa-lookup-failed', 'dnssec-invalid', `450 4.7.5 TLSA lookup error: SERVFAIL for host ${HOST}`)],
  ['dane-only, no TLSA records', recorded(established(), { published: { tlsa: { kind: 'none' } } }), target({ tls: 'dane-only' }), deferred('no-usable-tlsa', 'dane-required', /No TLSA records, and DANE is required/)],
  ['a host not dialled then, dialled now', recorded(undefined, { ip: null, tls: null, delivered: 0, outcome: 'deferred', published: { tlsa: { kind: 'none' } } }), target({ tls: 'verify' }), { kind: 'cannot-tell', reason: 'not-dialled' }],
  [
    'a smart host dialled by its IP, with an IP SAN',
    recorded(established({ certificate: { dnsNames: [], ipAddresses: ['192.0.2.7'], commonNames: ['mx.fabrikam.test'], sha256: CERT_SHA, spkiSha256: SPKI_SHA } }), { route: 'smart-host', host: IP }),
    target({ tls: 'verify', smartHosts: [{ host: IP, port: 25 }] }),
    { kind: 'delivers', verdict: 'verified' },
  ],
  [
    'a smart host dialled by its IP, a certificate naming only a host name',
    recorded(established({ certificate: { dnsNames: [], ipAddresses: [], commonNames: ['mx.fabrikam.test'], sha256: CERT_SHA, spkiSha256: SPKI_SHA } }), { route: 'smart-host', host: IP }),
    target({ tls: 'verify', smartHosts: [{ host: IP, port: 25 }] }),
    deferred('certificate-name', 'certificate-host-mismatch', `450 4.7.5 Server certificate not verified for host ${IP}: the certificate names none of ${IP} (it has CN=mx.fabrikam.test)`),
  ],
];

for (const [title, record, on, expected] of CASES) {
  t.test(title, async (t) => {
    const outcome: ReplayOutcome = replaySession(record, on);
    t.match(outcome, expected);
    if (expected.kind === 'defers' && typeof expected.text === 'string') t.equal((outcome as { text: string }).text, expected.text, 'the deferral text as the relay writes it');
  });
}
