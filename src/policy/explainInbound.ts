import type { Config, InboundConnector } from '../config/types.js';
import {
  checkInboundRequirements,
  RELAY_DENIED,
  selectInboundConnector,
  type InboundFacts,
  type InboundVerdict,
} from './inbound.js';

// `tlsrelay policy explain --inbound IP`: what the inbound policy does with a session of
// given facts, as data, from the same functions the listeners ask.

export interface InboundQuery {
  /** Validated; an IPv4-mapped IPv6 address already unmapped, as the listeners do. */
  ip: string;
  /** The MAIL FROM address and its normalised domain; null for the null sender. */
  sender: { address: string; domain: string } | null;
  /** A name the client's certificate carries; the certificate is taken to be trusted. */
  certificateName: string | null;
}

/** The sessions a query stands for: with a certificate there is only one kind. */
export type InboundSessionKind = 'without-starttls' | 'starttls-without-certificate' | 'starttls-with-certificate';

export type Relaying =
  | { to: 'any-domain' }
  /** `otherwise` is the reply every other recipient gets. */
  | { to: 'accepted-domains'; acceptedDomains: string[]; otherwise: InboundVerdict };

export interface InboundExplanation {
  direction: 'inbound';
  client: { ip: string; sender: string | null; senderDomain: string | null; certificateName: string | null };
  /** What the explanation takes for granted beyond the facts given. */
  assumptions: string[];
  connector: InboundConnector | null;
  reason: string;
  /** The reply to MAIL FROM in each kind of session the facts allow. */
  mailFrom: Array<{ session: InboundSessionKind; verdict: InboundVerdict }>;
  relaying: Relaying;
}

const ACCEPTED: InboundVerdict = { ok: true };

function sessionFacts(query: InboundQuery, session: InboundSessionKind): InboundFacts {
  const certificate = session === 'starttls-with-certificate' && query.certificateName !== null
    ? { trusted: true, names: [query.certificateName], ocsp: { kind: 'not-checked' as const } }
    : undefined;
  return {
    ip: query.ip,
    tls: session !== 'without-starttls',
    certificate,
    senderDomain: query.sender?.domain,
    authenticated: false,
  };
}

function sessionsOf(query: InboundQuery): InboundSessionKind[] {
  // a client certificate only exists after STARTTLS; without one, TLS may or may not be used
  return query.certificateName !== null ? ['starttls-with-certificate'] : ['without-starttls', 'starttls-without-certificate'];
}

function assumptionsOf(query: InboundQuery): string[] {
  const assumptions: string[] = [];
  if (query.certificateName !== null) {
    assumptions.push(`the client presents, after STARTTLS, a certificate naming ${query.certificateName} that chains to a trusted root (system roots or tls.trust)`);
  }
  if (query.sender === null) assumptions.push('MAIL FROM:<> (the null sender), which no senderDomains match');
  assumptions.push('the client does not authenticate (SMTP AUTH)');
  return assumptions;
}

/** Everything the inbound policy decides for a session with exactly the facts of `query`. */
export function explainInbound(config: Config, query: InboundQuery): InboundExplanation {
  const sessions = sessionsOf(query);
  // match fields look at the certificate, never at TLS itself, so every session kind of
  // one query selects the same connector
  const selection = selectInboundConnector(config, sessionFacts(query, sessions[0]!));
  const connector = selection.connector;
  return {
    direction: 'inbound',
    client: { ip: query.ip, sender: query.sender?.address ?? null, senderDomain: query.sender?.domain ?? null, certificateName: query.certificateName },
    assumptions: assumptionsOf(query),
    connector: connector ?? null,
    reason: selection.reason,
    mailFrom: sessions.map((session) => ({
      session,
      verdict: connector ? checkInboundRequirements(connector, sessionFacts(query, session)) : ACCEPTED,
    })),
    relaying: connector?.relay
      ? { to: 'any-domain' }
      : { to: 'accepted-domains', acceptedDomains: config.acceptedDomains, otherwise: RELAY_DENIED },
  };
}
