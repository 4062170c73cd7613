import { certificateNamesHost, nameMismatchText, pinned, type PresentedCertificate } from './presentedCertificate.js';
import type { EstablishedTls, NegotiatedTls, TlsObservation } from './tlsDecision.js';

// What a session showed of the next hop's TLS before any connector's names and pins were
// applied to it: the transit record keeps this, and a session — live, or replayed by
// `policy what-if` under another connector — is judged from it by judgeObserved.

/** A TLS session as it came about, with the certificate as presented; null: the server presented none. */
export interface ObservedSession extends NegotiatedTls {
  certificate: PresentedCertificate | null;
}

export type ObservedTls =
  /** STARTTLS was never sent (level none, or the plaintext retry); whether the next hop offered it. */
  | { kind: 'no-tls-attempted'; starttlsOffered: boolean }
  | { kind: 'starttls-not-offered' }
  /** The peer answered STARTTLS with something other than 220; `closed` if it then hung up. */
  | { kind: 'starttls-refused'; reply: string; closed: boolean }
  /** The peer said 220 but no TLS session came of it. */
  | { kind: 'handshake-failed'; reason: string }
  | ObservedSession;

/** What a connector expects of a certificate: tlsNames (else the host dialled), and its pins. */
export interface NamesAndPins {
  names: readonly string[];
  /** Lower-case hex SHA-256 of a certificate or of its SPKI. */
  fingerprints: readonly string[];
}

const NO_CERTIFICATE = 'the server presented no certificate';

function judgeSession(observed: ObservedSession, expected: NamesAndPins): EstablishedTls {
  const { certificate, dane, chainError, chainFailure } = observed;
  const chain = { chainValid: observed.chainValid, ...(chainError === undefined ? {} : { chainError }), ...(chainFailure === undefined ? {} : { chainFailure }) };
  const session = { kind: 'established' as const, protocol: observed.protocol, cipher: observed.cipher, ...chain, ...(dane === undefined ? {} : { dane }) };
  if (certificate === null) return { ...session, nameMatched: false, nameError: NO_CERTIFICATE, fingerprintMatched: false, fingerprint: '' };
  const nameMatched = expected.names.some((name) => certificateNamesHost(certificate, name));
  return {
    ...session,
    nameMatched,
    ...(nameMatched ? {} : { nameError: nameMismatchText(expected.names, certificate) }),
    fingerprintMatched: pinned(certificate, expected.fingerprints),
    fingerprint: certificate.sha256,
  };
}

/** The observation a TLS decision takes: what was seen, against the names and pins the connector expects. */
export function judgeObserved(observed: ObservedTls, expected: NamesAndPins): TlsObservation {
  switch (observed.kind) {
    case 'no-tls-attempted':
      return { kind: 'no-tls-attempted' };
    case 'established':
      return judgeSession(observed, expected);
    default:
      return observed;
  }
}

/** The chain's verdict when the server presented no certificate. */
export function noCertificate(protocol: string, cipher: string, dane: boolean): ObservedSession {
  return {
    kind: 'established',
    protocol,
    cipher,
    chainValid: false,
    chainError: NO_CERTIFICATE,
    chainFailure: 'validation-failure',
    certificate: null,
    ...(dane ? { dane: { kind: 'failed', reason: NO_CERTIFICATE } } : {}),
  };
}
