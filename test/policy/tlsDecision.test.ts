import t from 'tap';
import type { TlsLevel } from '../../src/config/types.js';
import type { AppliedPolicy } from '../../src/policy/appliedPolicy.js';
import { certificateVerdict, connectorRule, decideTls, type TlsObservation } from '../../src/policy/tlsDecision.js';

const H = 'mx.test[192.0.2.1]';
const REFUSAL = '454 4.7.0 TLS not available due to local problem';
const FP = 'ab'.repeat(32);
const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };

const observations = {
  noTls: { kind: 'no-tls-attempted' },
  notOffered: { kind: 'starttls-not-offered' },
  refused: { kind: 'starttls-refused', reply: REFUSAL, closed: false },
  refusedClosed: { kind: 'starttls-refused', reply: REFUSAL, closed: true },
  handshake: { kind: 'handshake-failed', reason: 'wrong version number' },
  selfSigned: { kind: 'established', ...tls, chainValid: false, chainError: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', nameMatched: true, fingerprintMatched: false, fingerprint: FP },
  unknownCa: { kind: 'established', ...tls, chainValid: false, chainError: 'issuer not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)', nameMatched: true, fingerprintMatched: false, fingerprint: FP },
  expired: { kind: 'established', ...tls, chainValid: false, chainError: 'certificate has expired (CERT_HAS_EXPIRED)', nameMatched: true, fingerprintMatched: false, fingerprint: FP },
  revoked: { kind: 'established', ...tls, chainValid: false, chainError: 'certificate has been revoked (CERT_REVOKED)', nameMatched: true, fingerprintMatched: false, fingerprint: FP },
  wrongName: { kind: 'established', ...tls, chainValid: true, nameMatched: false, nameError: 'the certificate names none of mx.test (it has DNS:other.test)', fingerprintMatched: false, fingerprint: FP },
  valid: { kind: 'established', ...tls, chainValid: true, nameMatched: true, fingerprintMatched: false, fingerprint: FP },
  pinnedSelfSigned: { kind: 'established', ...tls, chainValid: false, chainError: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', nameMatched: false, nameError: 'the certificate names none of mx.test (it has DNS:other.test)', fingerprintMatched: true, fingerprint: FP },
  daneMatched: { kind: 'established', ...tls, chainValid: false, chainError: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', nameMatched: false, fingerprintMatched: false, fingerprint: FP, dane: { kind: 'matched', record: '3 1 1 0011223344556677…' } },
  daneMismatch: { kind: 'established', ...tls, chainValid: true, nameMatched: true, fingerprintMatched: false, fingerprint: FP, dane: { kind: 'failed', reason: 'no TLSA record matched the certificate chain (3 1 1 0011223344556677…)' } },
} satisfies Record<string, TlsObservation>;

type Seen = keyof typeof observations;

// Expected outcome: 'deliver', 'fallback: TEXT' or 'defer: TEXT'
type Expected = 'deliver' | `fallback: ${string}` | `defer: ${string}`;

const NOT_OFFERED = `defer: 4.7.4 TLS is required, but was not offered by host ${H}`;
const NOT_ATTEMPTED = `defer: 4.7.4 TLS is required, but was not attempted with host ${H}`;
const REFUSED = `defer: 4.7.5 TLS is required, but host ${H} refused to start TLS: ${REFUSAL}`;
const HANDSHAKE = '4.7.5 Cannot start TLS: handshake failure: wrong version number';
const REFUSED_CLOSED = `4.7.5 Cannot start TLS: host ${H} refused to start TLS and closed the connection: ${REFUSAL}`;
const CHAIN = `defer: 4.7.5 Server certificate not verified for host ${H}: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)` as const;
const UNKNOWN_CA = `defer: 4.7.5 Server certificate not verified for host ${H}: issuer not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)` as const;
const EXPIRED = `defer: 4.7.5 Server certificate not verified for host ${H}: certificate has expired (CERT_HAS_EXPIRED)` as const;
const REVOKED = `defer: 4.7.5 Server certificate not verified for host ${H}: certificate has been revoked (CERT_REVOKED)` as const;
const NAME = `defer: 4.7.5 Server certificate not verified for host ${H}: the certificate names none of mx.test (it has DNS:other.test)` as const;
const PIN = `defer: 4.7.5 Server certificate not verified for host ${H}: no configured fingerprint matches the certificate (sha256:${FP}) or its public key` as const;
const NO_TLSA = `defer: 4.7.5 Server certificate not verified for host ${H}: no usable DNSSEC-validated TLSA record to match` as const;
const TLSA_MISMATCH = `defer: 4.7.5 Server certificate not verified for host ${H}: no TLSA record matched the certificate chain (3 1 1 0011223344556677…)` as const;

/** Levels that do not judge the certificate deliver whatever it is. */
const anyCertificate = { selfSigned: 'deliver', unknownCa: 'deliver', expired: 'deliver', revoked: 'deliver', wrongName: 'deliver', valid: 'deliver', pinnedSelfSigned: 'deliver', daneMatched: 'deliver', daneMismatch: 'deliver' } as const;
/** verify-ca and verify: a chain that fails defers, pinned or not. */
const badChain = { selfSigned: CHAIN, unknownCa: UNKNOWN_CA, expired: EXPIRED, revoked: REVOKED, pinnedSelfSigned: CHAIN, daneMatched: CHAIN } as const;
const mandatoryBeforeTls = { noTls: NOT_ATTEMPTED, notOffered: NOT_OFFERED, refused: REFUSED, refusedClosed: REFUSED, handshake: `defer: ${HANDSHAKE}` } as const;

const table: Record<TlsLevel | 'opportunistic without fallback', Record<Seen, Expected>> = {
  none: {
    noTls: 'deliver', notOffered: 'deliver', refused: 'deliver', refusedClosed: `fallback: ${REFUSED_CLOSED}`, handshake: `fallback: ${HANDSHAKE}`,
    ...anyCertificate,
  },
  opportunistic: {
    noTls: 'deliver', notOffered: 'deliver', refused: 'deliver', refusedClosed: `fallback: ${REFUSED_CLOSED}`, handshake: `fallback: ${HANDSHAKE}`,
    ...anyCertificate,
  },
  'opportunistic without fallback': {
    noTls: 'deliver', notOffered: 'deliver', refused: 'deliver', refusedClosed: `defer: ${REFUSED_CLOSED}`, handshake: `defer: ${HANDSHAKE}`,
    ...anyCertificate,
  },
  encrypt: { ...mandatoryBeforeTls, ...anyCertificate },
  'verify-ca': { ...mandatoryBeforeTls, ...badChain, wrongName: 'deliver', valid: 'deliver', daneMismatch: 'deliver' },
  verify: { ...mandatoryBeforeTls, ...badChain, wrongName: NAME, valid: 'deliver', daneMismatch: 'deliver' },
  fingerprint: { ...mandatoryBeforeTls, selfSigned: PIN, unknownCa: PIN, expired: PIN, revoked: PIN, wrongName: PIN, valid: PIN, pinnedSelfSigned: 'deliver', daneMatched: PIN, daneMismatch: PIN },
  // what `dane` is where nothing secure was published; the fold makes it dane-only where something was
  dane: {
    noTls: 'deliver', notOffered: 'deliver', refused: 'deliver', refusedClosed: `fallback: ${REFUSED_CLOSED}`, handshake: `fallback: ${HANDSHAKE}`,
    ...anyCertificate,
  },
  // a chain, a name or a pin count for nothing: only a TLSA record that matched
  'dane-only': {
    ...mandatoryBeforeTls, selfSigned: NO_TLSA, unknownCa: NO_TLSA, expired: NO_TLSA, revoked: NO_TLSA, wrongName: NO_TLSA, valid: NO_TLSA, pinnedSelfSigned: NO_TLSA,
    daneMatched: 'deliver', daneMismatch: TLSA_MISMATCH,
  },
};

const verdicts: Record<Seen, string> = {
  noTls: 'none', notOffered: 'none', refused: 'none', refusedClosed: 'none', handshake: 'none',
  selfSigned: 'untrusted', unknownCa: 'untrusted', expired: 'untrusted', revoked: 'untrusted', wrongName: 'trusted', valid: 'verified', pinnedSelfSigned: 'pinned',
  daneMatched: 'dane', daneMismatch: 'verified',
};

t.test('every level against every observation', async (t) => {
  for (const [row, expectations] of Object.entries(table)) {
    const level = (row === 'opportunistic without fallback' ? 'opportunistic' : row) as TlsLevel;
    const policy = connectorRule({ tls: level, plaintextFallback: row !== 'opportunistic without fallback' });
    for (const [seen, expected] of Object.entries(expectations) as Array<[Seen, Expected]>) {
      const observed = observations[seen];
      const decision = decideTls(policy, H, observed);
      const label = `${row} × ${seen}`;
      const actual: string =
        decision.action === 'deliver' ? 'deliver' : decision.action === 'plaintext-fallback' ? `fallback: ${decision.reason}` : `defer: ${decision.text}`;
      t.equal(actual, expected, label);
      t.equal(decision.verdict, verdicts[seen], `${label}: verdict`);
      if (decision.action === 'defer') t.equal(decision.code, 450, `${label}: our own deferrals are 450`);
      const expectTls = observed.kind === 'established' && decision.action !== 'plaintext-fallback' ? tls : null;
      t.same(decision.tls, expectTls, `${label}: TLS facts`);
    }
  }
});

t.test('a level the code does not know is never weaker than verify', async (t) => {
  const unknown = connectorRule({ tls: 'tofu' as TlsLevel, plaintextFallback: true });
  const decision = decideTls(unknown, H, observations.valid);
  t.equal(decision.action, 'defer');
  t.match(decision.action === 'defer' ? decision.text : '', /^4\.7\.5 Server certificate not verified .*"tofu" is not supported/);
  t.equal(decideTls(unknown, H, observations.notOffered).action, 'defer');
});

t.test('the failures of dane-only are the DANE result types of RFC 8460', async (t) => {
  const rule = connectorRule({ tls: 'dane-only', plaintextFallback: false });
  t.match(decideTls(rule, H, observations.daneMismatch), { action: 'defer', failure: 'tlsa-invalid' }, 'records that did not match');
  t.match(decideTls(rule, H, observations.valid), { action: 'defer', failure: 'dane-required' }, 'no records to match');
  t.match(decideTls(rule, H, observations.daneMatched), { action: 'deliver', verdict: 'dane', policy: { source: 'connector', level: 'dane-only' } });
});

t.test('a testing policy records what it would refuse and never refuses', async (t) => {
  const testingPolicy: AppliedPolicy = { source: 'mta-sts', mode: 'testing', id: 'p1', mx: ['mx.test'], policyText: ['version: STSv1', 'mode: testing'] };
  const rule = { ...connectorRule({ tls: 'opportunistic', plaintextFallback: true }), testing: { tls: 'verify' as const, policy: testingPolicy } };
  t.same(decideTls(rule, H, observations.wrongName), {
    action: 'deliver', verdict: 'trusted', tls, policy: testingPolicy,
    wouldFail: { failure: 'certificate-host-mismatch', text: `4.7.5 Server certificate not verified for host ${H}: the certificate names none of mx.test (it has DNS:other.test)` },
  });
  t.same(decideTls(rule, H, observations.valid), { action: 'deliver', verdict: 'verified', tls, policy: testingPolicy }, 'a session that passes: the testing policy governed it, nothing failed');
  t.match(decideTls(rule, H, observations.notOffered), { action: 'deliver', tls: null, wouldFail: { failure: 'starttls-not-supported' } }, 'plaintext is what testing would refuse');
  t.match(decideTls(rule, H, observations.refusedClosed), { action: 'plaintext-fallback', policy: testingPolicy }, 'the level decides how the session goes on; its failure is the testing policy\'s to report');
  t.match(decideTls(rule, H, observations.handshake), { action: 'plaintext-fallback', failure: 'validation-failure', policy: testingPolicy }, 'a broken handshake is reported under the testing policy, not as no-policy-found');
  const encryptRule = { ...connectorRule({ tls: 'encrypt', plaintextFallback: false }), testing: { tls: 'verify' as const, policy: testingPolicy } };
  t.match(decideTls(encryptRule, H, observations.notOffered), { action: 'defer', failure: 'starttls-not-supported', policy: testingPolicy }, 'encrypt deferring a host without STARTTLS: under the testing policy too');
});

t.test('verdict ranks a pin over the chain, the chain and name over the chain alone', async (t) => {
  t.equal(certificateVerdict({ ...observations.valid, fingerprintMatched: true }), 'pinned');
  t.equal(certificateVerdict(observations.valid), 'verified');
  t.equal(certificateVerdict(observations.wrongName), 'trusted');
  t.equal(certificateVerdict(observations.selfSigned), 'untrusted');
  t.equal(certificateVerdict(observations.handshake), 'none');
});
