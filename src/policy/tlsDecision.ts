import type { OutboundConnector, TlsLevel } from '../config/types.js';
import type { CertVerdict, TlsFacts } from '../queue/types.js';

/** What one connection attempt showed about TLS, as the outbound side saw it. */
export type TlsObservation =
  /** Level none, or the plaintext connection of a fallback: STARTTLS was never sent. */
  | { kind: 'no-tls-attempted' }
  | { kind: 'starttls-not-offered' }
  /** The peer answered STARTTLS with something other than 220; `closed` if it then hung up. */
  | { kind: 'starttls-refused'; reply: string; closed: boolean }
  /** The peer said 220 but no TLS session came of it (protocol, cipher, garbage, hang-up). */
  | { kind: 'handshake-failed'; reason: string }
  | EstablishedTls;

export interface EstablishedTls {
  kind: 'established';
  protocol: string;
  cipher: string;
  /** The chain leads to a trust anchor (system roots + tls.trust) and passes the CRLs. */
  chainValid: boolean;
  chainError?: string;
  /** The certificate names one of the expected names (tlsNames, else the host dialled). */
  nameMatched: boolean;
  nameError?: string;
  /** SHA-256 of the certificate or of its public key is in the connector's fingerprints. */
  fingerprintMatched: boolean;
  /** SHA-256 of the certificate, lower-case hex: shown when a pin does not match. */
  fingerprint: string;
}

export type TlsPolicy = Pick<OutboundConnector, 'tls' | 'plaintextFallback'>;

/** Code of the deferrals the relay makes itself (as opposed to relaying a peer's reply). */
export const POLICY_DEFERRAL_CODE = 450;

export type TlsDecision =
  /** Send the mail over the connection as it is. */
  | { action: 'deliver'; verdict: CertVerdict; tls: TlsFacts | null }
  /** Give up on this connection and try the same host again in plaintext on a new one. */
  | { action: 'plaintext-fallback'; verdict: CertVerdict; tls: null; reason: string }
  /** QUIT without sending MAIL; `text` starts with the enhanced status code. */
  | { action: 'defer'; verdict: CertVerdict; tls: TlsFacts | null; code: typeof POLICY_DEFERRAL_CODE; text: string };

/** Levels under which a session without TLS must not carry mail. */
export function requiresTls(level: TlsLevel): boolean {
  return level !== 'none' && level !== 'opportunistic';
}

/**
 * What the certificate proves, whatever the level asked for: a pin match is the
 * operator's own statement about this exact key, so it ranks first.
 */
export function certificateVerdict(observed: TlsObservation): CertVerdict {
  if (observed.kind !== 'established') return 'none';
  if (observed.fingerprintMatched) return 'pinned';
  if (observed.chainValid && observed.nameMatched) return 'verified';
  if (observed.chainValid) return 'trusted';
  return 'untrusted';
}

/** Why the certificate fails the level, or undefined when the level is content with it. */
function certificateFailure(level: TlsLevel, tls: EstablishedTls): string | undefined {
  const chain = tls.chainValid ? undefined : (tls.chainError ?? 'the certificate chain is not trusted');
  const name = tls.nameMatched ? undefined : (tls.nameError ?? 'the certificate does not name the host');
  switch (level) {
    case 'none':
    case 'opportunistic':
    case 'encrypt':
      return undefined;
    case 'verify-ca':
      return chain;
    case 'verify':
      return chain ?? name;
    case 'fingerprint':
      return tls.fingerprintMatched
        ? undefined
        : `no configured fingerprint matches the certificate (sha256:${tls.fingerprint}) or its public key`;
    default: {
      const unknown: never = level;
      // a level this code does not know must never be treated as weaker than asked
      return `TLS level "${String(unknown)}" is not supported`;
    }
  }
}

/**
 * The decision after a connection attempt, as one pure function of the connector's
 * policy and what was observed. `host` names the peer in the texts, e.g. `mx.test[192.0.2.1]`.
 * Deferral texts follow Postfix's wording so operators recognise them.
 */
export function decideTls(policy: TlsPolicy, host: string, observed: TlsObservation): TlsDecision {
  const verdict = certificateVerdict(observed);
  const deliver = (): TlsDecision => ({ action: 'deliver', verdict, tls: tlsFacts(observed) });
  const defer = (text: string): TlsDecision => ({ action: 'defer', verdict, tls: tlsFacts(observed), code: POLICY_DEFERRAL_CODE, text });
  // the one reconnect there is: opportunistic TLS that broke the session, retried in plaintext
  const fallBackOrDefer = (text: string): TlsDecision =>
    policy.plaintextFallback ? { action: 'plaintext-fallback', verdict, tls: null, reason: text } : defer(text);
  const mandatory = requiresTls(policy.tls);

  switch (observed.kind) {
    case 'no-tls-attempted':
      return mandatory ? defer(`4.7.4 TLS is required, but was not attempted with host ${host}`) : deliver();
    case 'starttls-not-offered':
      return mandatory ? defer(`4.7.4 TLS is required, but was not offered by host ${host}`) : deliver();
    case 'starttls-refused':
      if (mandatory) return defer(`4.7.5 TLS is required, but host ${host} refused to start TLS: ${observed.reply}`);
      if (!observed.closed) return deliver();
      return fallBackOrDefer(`4.7.5 Cannot start TLS: host ${host} refused to start TLS and closed the connection: ${observed.reply}`);
    case 'handshake-failed': {
      const text = `4.7.5 Cannot start TLS: handshake failure: ${observed.reason}`;
      return mandatory ? defer(text) : fallBackOrDefer(text);
    }
    case 'established': {
      const failure = certificateFailure(policy.tls, observed);
      return failure === undefined ? deliver() : defer(`4.7.5 Server certificate not verified for host ${host}: ${failure}`);
    }
  }
}

function tlsFacts(observed: TlsObservation): TlsFacts | null {
  return observed.kind === 'established' ? { protocol: observed.protocol, cipher: observed.cipher } : null;
}
