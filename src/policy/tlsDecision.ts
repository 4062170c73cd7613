import type { OutboundConnector, TlsLevel } from '../config/types.js';
import type { CertVerdict, TlsFacts } from '../queue/types.js';
import { connectorPolicy, type AppliedPolicy } from './appliedPolicy.js';
import type { ChainFailure, TlsResultType } from './resultTypes.js';

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

/**
 * What DANE made of the certificate chain, when the host's rule had TLSA records to
 * match (RFC 7672): `record` is the one that matched as logs show it (usage, selector,
 * matching type, the first bytes), `reason` why none did.
 */
export type DaneObservation = { kind: 'matched'; record: string } | { kind: 'failed'; reason: string };

/** A TLS session as it came about, whatever a connector expects of its certificate's names and digests. */
export interface NegotiatedTls {
  kind: 'established';
  protocol: string;
  cipher: string;
  /** The chain leads to a trust anchor (system roots + tls.trust) and passes the CRLs. */
  chainValid: boolean;
  chainError?: string;
  /** How a chain that is not valid is reported (RFC 8460); set whenever chainValid is false. */
  chainFailure?: ChainFailure;
  /** Set when the host's rule had TLSA records to match. */
  dane?: DaneObservation;
}

/** The session judged against the connector's names and pins (observedTls.ts judgeObserved). */
export interface EstablishedTls extends NegotiatedTls {
  /** The certificate names one of the expected names (tlsNames, else the host dialled). */
  nameMatched: boolean;
  nameError?: string;
  /** SHA-256 of the certificate or of its public key is in the connector's fingerprints. */
  fingerprintMatched: boolean;
  /** SHA-256 of the certificate, lower-case hex: shown when a pin does not match. */
  fingerprint: string;
}

export type TlsPolicy = Pick<OutboundConnector, 'tls' | 'plaintextFallback'>;

/**
 * What one session to one next hop must show: the connector's level, or the level a
 * published policy raised it to (publishedPolicy.ts) — `dane-only` for DANE, `verify`
 * against the MX host for MTA-STS `enforce`, `encrypt` for TLSA records none of which is
 * usable — and the policy that asked for it, for the transit record.
 */
export interface TlsRule extends TlsPolicy {
  policy: AppliedPolicy;
  /** MTA-STS `testing`: what the policy would demand; what falls short of it is recorded, never enforced. */
  testing?: { tls: TlsLevel; policy: AppliedPolicy };
}

/** The rule of a connector whose level nothing published changes. */
export function connectorRule(connector: TlsPolicy): TlsRule {
  return { tls: connector.tls, plaintextFallback: connector.plaintextFallback, policy: connectorPolicy(connector.tls) };
}

/** What a testing policy would have refused in a session that went ahead (RFC 8461 §5: reported, not enforced). */
export interface WouldFail {
  failure: TlsResultType;
  text: string;
}

/** Code of the deferrals the relay makes itself (as opposed to relaying a peer's reply). */
export const POLICY_DEFERRAL_CODE = 450;

/**
 * Every decision names the policy that made it; one that gives up on the connection also
 * says what failed, as RFC 8460 words it (for the transit record and TLS-RPT).
 */
export type TlsDecision =
  /** Send the mail over the connection as it is; `wouldFail` under an MTA-STS testing policy the session fell short of. */
  | { action: 'deliver'; verdict: CertVerdict; tls: TlsFacts | null; policy: AppliedPolicy; wouldFail?: WouldFail }
  /** Give up on this connection and try the same host again in plaintext on a new one. */
  | { action: 'plaintext-fallback'; verdict: CertVerdict; tls: null; policy: AppliedPolicy; failure: TlsResultType; reason: string }
  /** QUIT without sending MAIL; `text` starts with the enhanced status code. */
  | { action: 'defer'; verdict: CertVerdict; tls: TlsFacts | null; policy: AppliedPolicy; failure: TlsResultType; code: typeof POLICY_DEFERRAL_CODE; text: string };

/** Levels under which a session without TLS must not carry mail. */
export function requiresTls(level: TlsLevel): boolean {
  // `dane` here is what it is without secure TLSA records: the fold raised it where there were some
  return level !== 'none' && level !== 'opportunistic' && level !== 'dane';
}

/**
 * What the certificate proves, whatever the level asked for: a pin match is the
 * operator's own statement about this exact key, so it ranks first.
 */
export function certificateVerdict(observed: TlsObservation): CertVerdict {
  if (observed.kind !== 'established') return 'none';
  if (observed.fingerprintMatched) return 'pinned';
  if (observed.dane?.kind === 'matched') return 'dane';
  if (observed.chainValid && observed.nameMatched) return 'verified';
  if (observed.chainValid) return 'trusted';
  return 'untrusted';
}

/**
 * Whether the certificate proves who the peer is: a chain to a trust anchor with the
 * expected name, the operator's pin, or a TLSA record the domain published under DNSSEC.
 * `trusted` (a chain, but not the name) does not.
 */
export const AUTHENTICATES: Record<CertVerdict, boolean> = { verified: true, pinned: true, dane: true, trusted: false, untrusted: false, none: false };

interface CertificateFailure {
  text: string;
  type: TlsResultType;
}

/** Why the certificate fails the level, or undefined when the level is content with it. */
function certificateFailure(level: TlsLevel, tls: EstablishedTls): CertificateFailure | undefined {
  const chain: CertificateFailure | undefined = tls.chainValid
    ? undefined
    : { text: tls.chainError ?? 'the certificate chain is not trusted', type: tls.chainFailure ?? 'certificate-not-trusted' };
  const name: CertificateFailure | undefined = tls.nameMatched
    ? undefined
    : { text: tls.nameError ?? 'the certificate does not name the host', type: 'certificate-host-mismatch' };
  switch (level) {
    case 'none':
    case 'opportunistic':
    case 'encrypt':
    case 'dane':
      return undefined;
    case 'dane-only':
      // RFC 8460 §4.3.2.1: records there were, but none matched
      return tls.dane?.kind === 'matched'
        ? undefined
        : { text: tls.dane?.reason ?? 'no usable DNSSEC-validated TLSA record to match', type: tls.dane ? 'tlsa-invalid' : 'dane-required' };
    case 'verify-ca':
      return chain;
    case 'verify':
      return chain ?? name;
    case 'fingerprint':
      // RFC 8460 has no type for a pin: the general one
      return tls.fingerprintMatched
        ? undefined
        : { text: `no configured fingerprint matches the certificate (sha256:${tls.fingerprint}) or its public key`, type: 'validation-failure' };
    default: {
      const unknown: never = level;
      // a level this code does not know must never be treated as weaker than asked
      return { text: `TLS level "${String(unknown)}" is not supported`, type: 'validation-failure' };
    }
  }
}

/**
 * The decision after a connection attempt, as one pure function of the connector's
 * policy and what was observed. `host` names the peer in the texts, e.g. `mx.test[192.0.2.1]`.
 * Deferral texts follow Postfix's wording so operators recognise them.
 */
export function decideTls(rule: TlsRule, host: string, observed: TlsObservation): TlsDecision {
  const decision = decideAtLevel(rule, rule.policy, host, observed);
  if (rule.testing === undefined) return decision;
  // the testing policy governed the session whatever the level made of it: a failure is reported under it (RFC 8460)
  const policy = rule.testing.policy;
  if (decision.action !== 'deliver') return { ...decision, policy };
  const tested = decideAtLevel({ tls: rule.testing.tls, plaintextFallback: false }, policy, host, observed);
  return tested.action === 'defer' ? { ...decision, policy, wouldFail: { failure: tested.failure, text: tested.text } } : { ...decision, policy };
}

function decideAtLevel(policy: TlsPolicy, applied: AppliedPolicy, host: string, observed: TlsObservation): TlsDecision {
  const verdict = certificateVerdict(observed);
  const deliver = (): TlsDecision => ({ action: 'deliver', verdict, tls: tlsFacts(observed), policy: applied });
  const defer = (text: string, failure: TlsResultType): TlsDecision => ({ action: 'defer', verdict, tls: tlsFacts(observed), policy: applied, failure, code: POLICY_DEFERRAL_CODE, text });
  // the one reconnect there is: opportunistic TLS that broke the session, retried in plaintext
  const fallBackOrDefer = (text: string, failure: TlsResultType): TlsDecision =>
    policy.plaintextFallback ? { action: 'plaintext-fallback', verdict, tls: null, policy: applied, failure, reason: text } : defer(text, failure);
  const mandatory = requiresTls(policy.tls);

  switch (observed.kind) {
    case 'no-tls-attempted':
      return mandatory ? defer(`4.7.4 TLS is required, but was not attempted with host ${host}`, 'starttls-not-supported') : deliver();
    case 'starttls-not-offered':
      return mandatory ? defer(`4.7.4 TLS is required, but was not offered by host ${host}`, 'starttls-not-supported') : deliver();
    case 'starttls-refused':
      if (mandatory) return defer(`4.7.5 TLS is required, but host ${host} refused to start TLS: ${observed.reply}`, 'starttls-not-supported');
      if (!observed.closed) return deliver();
      return fallBackOrDefer(`4.7.5 Cannot start TLS: host ${host} refused to start TLS and closed the connection: ${observed.reply}`, 'starttls-not-supported');
    case 'handshake-failed': {
      // RFC 8460 names no handshake failure of its own: the general type
      const text = `4.7.5 Cannot start TLS: handshake failure: ${observed.reason}`;
      return mandatory ? defer(text, 'validation-failure') : fallBackOrDefer(text, 'validation-failure');
    }
    case 'established': {
      const failure = certificateFailure(policy.tls, observed);
      return failure === undefined ? deliver() : defer(`4.7.5 Server certificate not verified for host ${host}: ${failure.text}`, failure.type);
    }
  }
}

function tlsFacts(observed: TlsObservation): TlsFacts | null {
  return observed.kind === 'established' ? { protocol: observed.protocol, cipher: observed.cipher } : null;
}
