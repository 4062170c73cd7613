import type { InboundConnector } from '../config/types.js';
import type { InboundExplanation, InboundSessionKind } from '../policy/explainInbound.js';
import type { ExplainedRoute, NextHopEvent, NextHopOutcome, OutboundExplanation } from '../policy/explainOutbound.js';
import type { InboundVerdict } from '../policy/inbound.js';

// The human form of `tlsrelay policy explain`: label/value rows an operator reads top to
// bottom. Scripts use --json, so this text may change shape; the facts in it may not.

type Row = [label: string, value: string | string[]];

/** Rows with their values in one column; a list value continues on the lines below. */
function rows(entries: Row[], indent: string): string[] {
  const width = Math.max(...entries.map(([label]) => label.length));
  return entries.flatMap(([label, value]) =>
    (typeof value === 'string' ? [value] : value).map((line, index) => `${indent}${(index === 0 ? label : '').padEnd(width)}  ${line}`),
  );
}

const listOrNone = (items: readonly string[]): string => (items.length > 0 ? items.join(', ') : 'none');

const EVENT_LABELS: Record<NextHopEvent, string> = {
  'tls-not-attempted': 'any next hop (no STARTTLS)',
  'starttls-not-offered': 'does not offer STARTTLS',
  'starttls-refused': 'refuses STARTTLS',
  'starttls-refused-and-closed': 'refuses STARTTLS and hangs up',
  'handshake-failed': 'fails the TLS handshake',
  'certificate-fails': 'presents a certificate that fails every check',
};

function outcomeText(outcome: NextHopOutcome): string {
  switch (outcome.action) {
    case 'deliver-in-plaintext':
      return 'deliver in plaintext';
    case 'deliver-over-tls':
      return `deliver over TLS (logged ${outcome.verdict})`;
    case 'plaintext-fallback':
      return 'retry the same host in plaintext on a new connection';
    case 'defer':
      return `defer: ${outcome.response}`;
  }
}

function routeText(route: ExplainedRoute): string {
  return route.kind === 'smart-hosts'
    ? `smart hosts ${route.hosts.join(', ')} (tried in this order)`
    : `MX of ${route.domain} on port ${route.port} (not looked up)`;
}

export function outboundText(explanation: OutboundExplanation): string {
  const { asGiven, domain, tls } = explanation;
  const heading = asGiven === domain ? `outbound mail for ${domain}` : `outbound mail for ${asGiven} (${domain})`;
  const settings: Row[] = [
    ['connector', explanation.implicit ? `${explanation.connector} (implicit)` : explanation.connector],
    ['why', explanation.reason],
    ['TLS level', `${tls.level}: ${tls.meaning}`],
    ['tlsNames', listOrNone(tls.tlsNames)],
    ['fingerprints', tls.fingerprints.length > 0 ? tls.fingerprints : 'none'],
    ['minVersion', `${tls.minVersion} (the newest version both sides share is used)`],
    ['ciphers', tls.ciphers ?? "Node's default"],
    ['CRLs', tls.crl.length > 0 ? tls.crl : 'none'],
    ['client certificate', tls.clientCertificate ? 'ours (tls.cert) is presented' : 'none presented'],
    ...(tls.plaintextFallback === null ? [] : [['plaintextFallback', tls.plaintextFallback ? 'yes' : 'no'] as Row]),
    ['route', routeText(explanation.route)],
    ['maxAge', `${explanation.maxAge}: a deferred message is retried on queue.retry, then bounced to its sender`],
    ...(explanation.warnings.length > 0 ? [['warning', explanation.warnings] as Row] : []),
  ];
  const outcomes = explanation.outcomes.map(({ event, outcome }): Row => [EVENT_LABELS[event], outcomeText(outcome)]);
  // <host>, <reply> and <reason> stand for what a real attempt fills in
  return [heading, ...rows(settings, '  '), '  when the next hop <host>', ...rows(outcomes, '    '), ''].join('\n');
}

const SESSION_LABELS: Record<InboundSessionKind, string> = {
  'without-starttls': 'without STARTTLS',
  'starttls-without-certificate': 'after STARTTLS, no client certificate',
  'starttls-with-certificate': 'after STARTTLS, with the certificate',
};

function verdictText(verdict: InboundVerdict): string {
  return verdict.ok ? '250 accepted' : `${verdict.code} ${verdict.message}`;
}

function matchText({ match }: InboundConnector): string {
  const given = Object.entries(match).filter((entry): entry is [string, string[]] => entry[1] !== undefined);
  return given.length > 0 ? given.map(([field, values]) => `${field} ${values.join(', ')}`).join('; ') : 'every session';
}

function requiresText({ require }: InboundConnector): string {
  const demands = [
    ...(require.tls ? ['STARTTLS'] : []),
    ...(require.certificateNames ? [`a trusted client certificate naming ${require.certificateNames.join(' or ')}`] : []),
    ...(require.ips ? [`client IP in ${require.ips.join(', ')}`] : []),
  ];
  return demands.length > 0 ? demands.join('; ') : 'nothing';
}

export function inboundText(explanation: InboundExplanation): string {
  const { client, connector, relaying } = explanation;
  const relayingText =
    relaying.to === 'any-domain'
      ? 'to any domain (connector has relay: true)'
      : `only to accepted domains (${listOrNone(relaying.acceptedDomains)}); any other recipient gets ${verdictText(relaying.otherwise)}`;
  const facts: Row[] = [
    ['sender', client.sender ?? '<> (null sender)'],
    ['client certificate', client.certificateName ?? 'none'],
    ['assuming', explanation.assumptions],
    ['connector', connector?.name ?? 'none'],
    ['why', explanation.reason],
    ...(connector ? [['match', matchText(connector)] as Row, ['requires', requiresText(connector)] as Row] : []),
    ['MAIL FROM', explanation.mailFrom.map(({ session, verdict }) => `${SESSION_LABELS[session]}: ${verdictText(verdict)}`)],
    ['relaying', relayingText],
  ];
  return [`inbound session from ${client.ip}`, ...rows(facts, '  '), ''].join('\n');
}
