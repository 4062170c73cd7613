import { domainOfAddress } from '../config/domain.js';
import type { Config, InboundConnector } from '../config/types.js';
import { ipInRanges } from './ipRanges.js';
import { certificateNameMatches, domainPatternMatches } from './names.js';
import { hasSenderSpecifiedRouting } from './senderRouting.js';

/**
 * What tls.ocsp made of a client certificate whose chain verified: `not-checked` (off, a
 * chain that did not verify, nobody to ask), `passed` (with the note: good, or soft past a
 * responder that did not answer), `revoked`, or `unconfirmed` — `hard`, and no answer
 * yet: a reason to come back later, not to be refused for good.
 */
export type ClientOcsp =
  | { kind: 'not-checked' }
  | { kind: 'passed'; note: string }
  | { kind: 'revoked'; reason: string }
  | { kind: 'unconfirmed'; reason: string };

/** What the client presented after STARTTLS; absent when it sent no certificate. */
export interface ClientCertificateFacts {
  /** Chains to the system roots or tls.trust, no CRL revokes it, and OCSP did not refuse it or leave it unconfirmed. */
  trusted: boolean;
  /** Why it is not trusted, when it is not (OpenSSL's words, the CRL's or OCSP's reason). */
  error?: string;
  /** SAN DNS names, else the CN. */
  names: string[];
  ocsp: ClientOcsp;
}

/** The facts of an inbound session, as far as they are known when a decision is asked for. */
export interface InboundFacts {
  ip: string;
  tls: boolean;
  certificate: ClientCertificateFacts | undefined;
  /** Normalised MAIL FROM domain; undefined for the null sender. */
  senderDomain: string | undefined;
  authenticated: boolean;
}

/**
 * Why a client was refused, in a bounded set (the `reason` of the rejection metric): relaying
 * denied, TLS required, the client certificate, the sender's address range, AUTH, the size,
 * bare line endings, an overlong line, a NUL byte, too many hops, an address not in ASCII,
 * a limit of connections, messages or recipients, pipelining before 354, a full spool.
 */
export type RefusalReason =
  | 'relaying'
  | 'tls-required'
  | 'certificate'
  | 'sender-ip'
  | 'auth'
  | 'size'
  | 'bare-line-endings'
  | 'line-length'
  | 'nul'
  | 'hops'
  | 'address'
  | 'limits'
  | 'pipelining'
  | 'storage';

export type InboundVerdict = { ok: true } | { ok: false; code: number; message: string; reason: RefusalReason };

const OK: InboundVerdict = { ok: true };

export interface InboundSelection {
  connector: InboundConnector | undefined;
  reason: string;
}

function trustedNameMatch(patterns: readonly string[], certificate: ClientCertificateFacts | undefined): boolean {
  if (!certificate?.trusted) return false;
  return patterns.some((pattern) => certificateNameMatches(pattern, certificate.names));
}

/** Patterns as the loader normalised them; the domain normalised by the caller. */
function senderDomainMatches(patterns: readonly string[], domain: string | undefined): boolean {
  return domain !== undefined && patterns.some((pattern) => domainPatternMatches(pattern, domain));
}

/** Every `match` field the connector gives must hold; an empty match holds for everyone. */
function connectorMatches(connector: InboundConnector, facts: InboundFacts): boolean {
  const { ips, certificateNames, senderDomains } = connector.match;
  if (ips && !ipInRanges(facts.ip, ips)) return false;
  if (certificateNames && !trustedNameMatch(certificateNames, facts.certificate)) return false;
  if (senderDomains && !senderDomainMatches(senderDomains, facts.senderDomain)) return false;
  return true;
}

/**
 * The facts as they will be once OCSP answers for a certificate it left unconfirmed: so a
 * client is placed with the connector it will get, which then says to try later
 * (checkInboundRequirements), rather than fall through to one that refuses it for good.
 */
function onceConfirmed(facts: InboundFacts): InboundFacts {
  const { certificate } = facts;
  return certificate?.ocsp.kind === 'unconfirmed' ? { ...facts, certificate: { ...certificate, trusted: true } } : facts;
}

/**
 * The connector of a transaction: the first, in file order, whose match fields all hold
 * (a certificate OCSP left unconfirmed counted as the one it will be confirmed as).
 */
export function selectInboundConnector(config: Config, facts: InboundFacts): InboundSelection {
  const expected = onceConfirmed(facts);
  const connector = config.inbound.find((candidate) => connectorMatches(candidate, expected));
  if (!connector) return { connector: undefined, reason: `no inbound connector matches client ${facts.ip}` };
  const given = Object.keys(connector.match).filter((key) => connector.match[key as keyof typeof connector.match]);
  const why = given.length === 0 ? 'it matches every session' : `its ${given.join(', ')} match`;
  const pending = connector.match.certificateNames && facts.certificate?.ocsp.kind === 'unconfirmed' ? ', once OCSP confirms the client certificate' : '';
  return { connector, reason: `inbound connector "${connector.name}" selected: ${why}${pending}` };
}

/** Under tls.ocsp hard, a certificate the connector names whose revocation no responder could tell: try again later. */
function unconfirmedCertificate(connector: InboundConnector, facts: InboundFacts): InboundVerdict | undefined {
  const { certificate } = facts;
  if (certificate?.ocsp.kind !== 'unconfirmed') return undefined;
  const patterns = [...(connector.match.certificateNames ?? []), ...(connector.require.certificateNames ?? [])];
  if (!trustedNameMatch(patterns, onceConfirmed(facts).certificate)) return undefined;
  return { ok: false, code: 451, message: `4.7.0 Connector "${connector.name}" cannot check the client certificate now: ${certificate.ocsp.reason}; try again later`, reason: 'certificate' };
}

function describeCertificateProblem(patterns: readonly string[], certificate: ClientCertificateFacts | undefined): string {
  if (!certificate) return 'no client certificate was presented';
  if (!certificate.trusted) return `the client certificate is not trusted (${certificate.error ?? 'unknown issuer'})`;
  return `the client certificate names (${certificate.names.join(', ') || 'none'}) do not match ${patterns.join(', ')}`;
}

/** What the selected connector demands of the session (checked at MAIL FROM). */
export function checkInboundRequirements(connector: InboundConnector, facts: InboundFacts): InboundVerdict {
  const { require } = connector;
  if (require.tls && !facts.tls) {
    return { ok: false, code: 530, message: '5.7.0 Must issue a STARTTLS command first', reason: 'tls-required' };
  }
  const unconfirmed = unconfirmedCertificate(connector, facts);
  if (unconfirmed) return unconfirmed;
  if (require.certificateNames && !trustedNameMatch(require.certificateNames, facts.certificate)) {
    const problem = describeCertificateProblem(require.certificateNames, facts.certificate);
    return { ok: false, code: 530, message: `5.7.1 Connector "${connector.name}" requires a trusted client certificate: ${problem}`, reason: 'certificate' };
  }
  if (require.ips && !ipInRanges(facts.ip, require.ips)) {
    return { ok: false, code: 550, message: `5.7.1 Connector "${connector.name}" does not accept this sender from ${facts.ip}`, reason: 'sender-ip' };
  }
  return OK;
}

function isAcceptedDomain(config: Config, domain: string): boolean {
  return config.acceptedDomains.some((accepted) => domainPatternMatches(accepted, domain));
}

/** Whether the session may send to any domain: its connector relays, or it authenticated. */
export function mayRelay(connector: InboundConnector | undefined, authenticated: boolean): boolean {
  return Boolean(connector?.relay) || authenticated;
}

/**
 * Whether a recipient may be accepted: mail for an accepted domain from anyone, any
 * domain only from a session that may relay. The domain is the one after the last '@'
 * (an address without one is never accepted); a session that may not relay is also
 * refused an address that routes on from its local part (`user%evil.test@contoso.test`).
 */
export function checkRecipient(config: Config, connector: InboundConnector | undefined, recipient: string, authenticated: boolean): InboundVerdict {
  const domain = domainOfAddress(recipient);
  if (domain === undefined) return RELAY_DENIED;
  if (mayRelay(connector, authenticated)) return OK;
  if (hasSenderSpecifiedRouting(recipient)) return RELAY_DENIED;
  return isAcceptedDomain(config, domain) ? OK : RELAY_DENIED;
}

export const RELAY_DENIED: InboundVerdict = { ok: false, code: 550, message: '5.7.1 Relaying denied', reason: 'relaying' };
