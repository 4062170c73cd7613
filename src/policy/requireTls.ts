import type { CertVerdict, RequireTlsShortfall, TlsFacts } from '../queue/types.js';
import type { AppliedPolicy } from './appliedPolicy.js';
import type { InboundVerdict } from './inbound.js';

// RFC 8689 REQUIRETLS: a sender's demand that its message travel only over TLS whose
// certificate was authenticated, to next hops that promise the same onwards. Pure:
// decided from what the session showed, before MAIL.

/** MAIL FROM … REQUIRETLS outside TLS: the relay offers the keyword only inside TLS, and a demand for TLS made in plaintext has already travelled without it. */
export function checkRequireTlsParameter(tls: boolean): InboundVerdict {
  return tls ? { ok: true } : { ok: false, code: 530, message: '5.7.10 REQUIRETLS needs TLS', reason: 'tls-required' };
}

/**
 * Whether the policy that governed a session refused to deliver unless the certificate
 * was authenticated, and the verdict shows it was — so that the session proves the next
 * hop's identity: a connector at `verify-ca` (the chain), `verify` (chain and name) or
 * `fingerprint` (the pin), MTA-STS in `enforce`, or DANE with a TLSA match. Opportunistic
 * and `encrypt` sessions carry mail whatever the certificate shows, MTA-STS `testing` only
 * reports, and a DANE session whose TLSA records were all unusable is TLS without
 * authentication (RFC 7672 §2.2) even when the chain happens to verify.
 */
function authenticated(policy: AppliedPolicy, verdict: CertVerdict): boolean {
  switch (policy.source) {
    case 'none':
      return false;
    case 'connector':
      if (policy.level === 'dane-only') return verdict === 'dane';
      return (policy.level === 'verify-ca' || policy.level === 'verify' || policy.level === 'fingerprint') && PROVES_IDENTITY[verdict];
    case 'dane':
      return verdict === 'dane';
    case 'mta-sts':
      return policy.mode === 'enforce' && PROVES_IDENTITY[verdict];
  }
}

/**
 * What each certificate verdict can stand for when the policy authenticates: a chain to a
 * trust anchor (`trusted`, what `verify-ca` accepts), with the expected name, the pin, or a TLSA match.
 * A Record, so that a new verdict has to be placed here.
 */
const PROVES_IDENTITY: Record<CertVerdict, boolean> = { verified: true, trusted: true, pinned: true, dane: true, untrusted: false, none: false };

/** What a delivery session showed, as far as REQUIRETLS is concerned. */
export interface RequireTlsSession {
  policy: AppliedPolicy;
  tls: TlsFacts | null;
  verdict: CertVerdict;
  /** The next hop's EHLO inside TLS listed REQUIRETLS. */
  advertised: boolean;
}

export type RequireTlsFit = { ok: true } | { ok: false; shortfall: RequireTlsShortfall };

/**
 * RFC 8689: a REQUIRETLS message goes over a session only when it is inside TLS, its
 * certificate was authenticated under a policy that insists on it, and the next hop
 * advertised REQUIRETLS after STARTTLS (so it takes on the same duty for the next hop).
 */
export function requireTlsFit(session: RequireTlsSession): RequireTlsFit {
  if (session.tls === null) return { ok: false, shortfall: 'no-tls' };
  if (!authenticated(session.policy, session.verdict)) return { ok: false, shortfall: 'not-authenticated' };
  if (!session.advertised) return { ok: false, shortfall: 'not-advertised' };
  return { ok: true };
}

/** Postfix-style words for why `host` was skipped, after the RFC's own text. */
const SHORTFALL_TEXT: Record<RequireTlsShortfall, (host: string) => string> = {
  'no-tls': (host) => `the session with host ${host} is not encrypted`,
  'not-authenticated': (host) => `the certificate of host ${host} was not authenticated (that takes a connector at verify-ca, verify or fingerprint, DANE, or MTA-STS in enforce mode)`,
  'not-advertised': (host) => `host ${host} does not advertise REQUIRETLS`,
};

/** Code of the REQUIRETLS refusal: of a next hop skipped for it, and of the bounce when none was left. */
export const REQUIRETLS_REFUSAL_CODE = 550;

/** `550 5.7.30 REQUIRETLS support required: host mx.b.test[192.0.2.1] does not advertise REQUIRETLS`. */
export function requireTlsRefusal(shortfall: RequireTlsShortfall, host: string): string {
  return `${REQUIRETLS_REFUSAL_CODE} 5.7.30 REQUIRETLS support required: ${SHORTFALL_TEXT[shortfall](host)}`;
}
