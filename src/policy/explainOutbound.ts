import { formatDuration } from '../config/duration.js';
import { formatFingerprint } from '../config/fingerprint.js';
import { formatHostPort } from '../config/host-port.js';
import type { Config, OutboundConnector, TlsLevel, TlsVersion } from '../config/types.js';
import type { CertVerdict } from '../queue/types.js';
import { selectOutboundConnector } from './outboundConnector.js';
import { connectorRule, decideTls, POLICY_DEFERRAL_CODE, type TlsDecision, type TlsObservation, type TlsRule } from './tlsDecision.js';

// `tlsrelay policy explain DOMAIN`: what the outbound policy does for one recipient
// domain, as data. Nothing here looks anything up: explain is about the policy, so the
// route names the MX question instead of answering it.

/** Where mail for the domain goes. */
export type ExplainedRoute =
  /** `host:port` in the order they are tried. */
  | { kind: 'smart-hosts'; hosts: string[] }
  | { kind: 'mx'; domain: string; port: number };

/** What a next hop can do to a TLS attempt; each is judged by the real decision function. */
export type NextHopEvent =
  | 'tls-not-attempted'
  | 'starttls-not-offered'
  | 'starttls-refused'
  | 'starttls-refused-and-closed'
  | 'handshake-failed'
  | 'certificate-fails';

/** `wouldFail`: under an MTA-STS testing policy, the deferral enforce would make, which is logged and recorded instead. */
export type NextHopOutcome =
  | { action: 'deliver-in-plaintext'; wouldFail?: string }
  | { action: 'deliver-over-tls'; verdict: CertVerdict; wouldFail?: string }
  | { action: 'plaintext-fallback' }
  /** `response` is the deferral with its code, e.g. "450 4.7.4 TLS is required, but …". */
  | { action: 'defer'; response: string };

export interface OutboundExplanation {
  direction: 'outbound';
  /** The domain as the operator typed it, e.g. a Unicode name. */
  asGiven: string;
  /** Its normalised form (ASCII, lower case), the one connectors are matched against. */
  domain: string;
  connector: string;
  /** True when no connector names the domain and the implicit default applies. */
  implicit: boolean;
  reason: string;
  tls: {
    level: TlsLevel;
    /** The level in one line, with the names or pins it checks. */
    meaning: string;
    tlsNames: string[];
    /** `sha256:` + hex, as the config writes them. */
    fingerprints: string[];
    minVersion: TlsVersion;
    /** null: Node's default list. */
    ciphers: string | null;
    /** tls.crl and the connector's own, in that order. */
    crl: string[];
    /** As the config writes it: `true` (the first certificate), a name from tls.certificates, or `false`. */
    clientCertificate: boolean | string;
    /** null for every level but opportunistic, where alone it means something. */
    plaintextFallback: boolean | null;
  };
  route: ExplainedRoute;
  /** How long a deferred message is retried before it bounces, as a config duration. */
  maxAge: string;
  outcomes: Array<{ event: NextHopEvent; outcome: NextHopOutcome }>;
  /** What the operator should know is weaker than it looks; empty when nothing is. */
  warnings: string[];
}

/** Stand-ins for what only a real connection would tell, so the texts read as templates. */
const HOST = '<host>';
const REASON = '<reason>';

const OBSERVATIONS: Record<NextHopEvent, TlsObservation> = {
  'tls-not-attempted': { kind: 'no-tls-attempted' },
  'starttls-not-offered': { kind: 'starttls-not-offered' },
  'starttls-refused': { kind: 'starttls-refused', reply: '<reply>', closed: false },
  'starttls-refused-and-closed': { kind: 'starttls-refused', reply: '<reply>', closed: true },
  'handshake-failed': { kind: 'handshake-failed', reason: REASON },
  // fails every check at once: whatever the level checks, it is not satisfied
  'certificate-fails': {
    kind: 'established',
    protocol: '<protocol>',
    cipher: '<cipher>',
    chainValid: false,
    chainError: REASON,
    nameMatched: false,
    nameError: REASON,
    fingerprintMatched: false,
    fingerprint: '<certificate sha256>',
  },
};

/** Level none never sends STARTTLS, so only the plaintext session can happen. */
function eventsOf(level: TlsLevel): NextHopEvent[] {
  if (level === 'none') return ['tls-not-attempted'];
  return ['starttls-not-offered', 'starttls-refused', 'starttls-refused-and-closed', 'handshake-failed', 'certificate-fails'];
}

/** Under a rule with TLSA records the session's chain is matched against them too, as observeTls does. */
function observationOf(rule: TlsRule, event: NextHopEvent): TlsObservation {
  const observed = OBSERVATIONS[event];
  const withTlsa = rule.policy.source === 'dane' && rule.policy.tlsa.length > 0 && rule.tls === 'dane-only';
  return withTlsa && observed.kind === 'established' ? { ...observed, dane: { kind: 'failed', reason: REASON } } : observed;
}

/** A decision as explain and `tls probe` say it. */
export function outcomeOfDecision(decision: TlsDecision): NextHopOutcome {
  switch (decision.action) {
    case 'deliver': {
      const wouldFail = decision.wouldFail ? { wouldFail: `${POLICY_DEFERRAL_CODE} ${decision.wouldFail.text}` } : {};
      return decision.tls === null ? { action: 'deliver-in-plaintext', ...wouldFail } : { action: 'deliver-over-tls', verdict: decision.verdict, ...wouldFail };
    }
    case 'plaintext-fallback':
      return { action: 'plaintext-fallback' };
    case 'defer':
      return { action: 'defer', response: `${decision.code} ${decision.text}` };
  }
}

function outcomeOf(rule: TlsRule, host: string, event: NextHopEvent): NextHopOutcome {
  return outcomeOfDecision(decideTls(rule, host, observationOf(rule, event)));
}

/** What each thing a next hop can do to a session would cause under `rule`; `host` names it in the deferral texts. */
export function outcomesUnder(rule: TlsRule, host: string): Array<{ event: NextHopEvent; outcome: NextHopOutcome }> {
  return eventsOf(rule.tls).map((event) => ({ event, outcome: outcomeOf(rule, host, event) }));
}

/** The TLS level table's row for this connector, in one line. */
export function levelMeaning(connector: OutboundConnector): string {
  const trustedRoot = 'chain to a trusted root (system roots or tls.trust)';
  switch (connector.tls) {
    case 'none':
      return 'no TLS: STARTTLS is never sent, mail goes in plaintext';
    case 'opportunistic': {
      const failedHandshake = connector.plaintextFallback ? 'a failed handshake is retried in plaintext' : 'a failed handshake defers';
      return `STARTTLS when offered, else plaintext; the certificate is not checked; ${failedHandshake}`;
    }
    case 'encrypt':
      return 'STARTTLS required; the certificate is not checked';
    case 'verify-ca':
      return `STARTTLS required; the certificate must ${trustedRoot}`;
    case 'verify': {
      const names = connector.tlsNames.length > 0 ? `one of ${connector.tlsNames.join(', ')}` : 'the host dialled (MX host or smart host)';
      return `STARTTLS required; the certificate must ${trustedRoot} and name ${names}`;
    }
    case 'fingerprint': {
      const count = connector.fingerprints.length;
      return `STARTTLS required; the SHA-256 of the certificate or of its public key must be ${count === 1 ? 'the configured fingerprint' : `one of the ${count} configured fingerprints`}`;
    }
    case 'dane':
      return 'DANE (RFC 7672) for MX hosts with secure, usable TLSA records (the certificate must match one, else defer), else MTA-STS, else opportunistic';
    case 'dane-only':
      return 'DANE (RFC 7672): every MX host must have secure, usable TLSA records and the certificate must match one, else defer';
    default: {
      const unknown: never = connector.tls;
      return `TLS level "${String(unknown)}" is not supported`;
    }
  }
}

/**
 * `verify` without tlsNames on an MX route checks the certificate against the MX host name,
 * and that name comes from DNS: without DNSSEC whoever can answer the MX query (an attacker
 * on the path) names a host of theirs that has a valid certificate for its own name, as
 * Postfix's documentation warns of its own `verify` level.
 */
export const MX_NAME_FROM_DNS_WARNING =
  'verify without tlsNames checks the certificate against the MX host name, and that name comes from DNS: without DNSSEC an attacker on the path can answer the MX query with a host of their own that has a valid certificate for its name; set tlsNames to the names the partner\'s certificates carry';

function warningsOf(connector: OutboundConnector): string[] {
  const nameFromDns = connector.tls === 'verify' && connector.tlsNames.length === 0 && connector.smartHosts.length === 0;
  return nameFromDns ? [MX_NAME_FROM_DNS_WARNING] : [];
}

function routeOf(connector: OutboundConnector, domain: string, config: Config): ExplainedRoute {
  if (connector.smartHosts.length > 0) return { kind: 'smart-hosts', hosts: connector.smartHosts.map(formatHostPort) };
  return { kind: 'mx', domain, port: config.delivery.port };
}

/**
 * Everything the outbound policy decides for mail to `domain` (already validated and
 * normalised; `asGiven` is what the operator typed).
 */
export function explainOutbound(config: Config, domain: string, asGiven: string): OutboundExplanation {
  const { connector, reason } = selectOutboundConnector(config, domain);
  return {
    direction: 'outbound',
    asGiven,
    domain,
    connector: connector.name,
    implicit: connector.implicit,
    reason,
    tls: {
      level: connector.tls,
      meaning: levelMeaning(connector),
      tlsNames: connector.tlsNames,
      fingerprints: connector.fingerprints.map(formatFingerprint),
      minVersion: connector.minVersion,
      ciphers: connector.ciphers ?? null,
      crl: [...config.tls.crl, ...connector.crl],
      clientCertificate: connector.clientCertificate,
      plaintextFallback: connector.tls === 'opportunistic' ? connector.plaintextFallback : null,
    },
    route: routeOf(connector, domain, config),
    maxAge: formatDuration(connector.maxAge),
    outcomes: outcomesUnder(connectorRule(connector), HOST),
    warnings: warningsOf(connector),
  };
}
