import type { InboundExplanation, InboundSessionKind } from '../policy/explainInbound.js';
import type { ExplainedRoute } from '../policy/explainOutbound.js';
import type { InboundVerdict } from '../policy/inbound.js';
import { inboundMatchText, inboundRequiresText } from '../policy/inboundConnectorText.js';
import { listOrNone, outcomeRows, rows, type Row } from './explainRows.js';
import { lookupText } from './lookupText.js';
import type { OutboundWithLookup } from './policyLookup.js';

// The human form of `tlsrelay policy explain`: label/value rows an operator reads top to
// bottom. Scripts use --json, so this text may change shape; the facts in it may not.

function routeText(route: ExplainedRoute, lookedUp: boolean): string {
  return route.kind === 'smart-hosts'
    ? `smart hosts ${route.hosts.join(', ')} (tried in this order)`
    : `MX of ${route.domain} on port ${route.port} (${lookedUp ? 'looked up below' : 'not looked up'})`;
}

function clientCertificateText(choice: boolean | string): string {
  if (choice === false) return 'none presented';
  return choice === true ? 'ours (tls.cert, or the first of tls.certificates) is presented' : `ours (the pair of tls.certificates named "${choice}") is presented`;
}

export function outboundText(explanation: OutboundWithLookup): string {
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
    ['client certificate', clientCertificateText(tls.clientCertificate)],
    ...(tls.plaintextFallback === null ? [] : [['plaintextFallback', tls.plaintextFallback ? 'yes' : 'no'] as Row]),
    ['route', routeText(explanation.route, explanation.lookup !== undefined)],
    ['maxAge', `${explanation.maxAge}: a deferred message is retried on queue.retry, then bounced to its sender`],
    ...(explanation.warnings.length > 0 ? [['warning', explanation.warnings] as Row] : []),
  ];
  // <host>, <reply> and <reason> stand for what a real attempt fills in
  const when = explanation.lookup ? "when the next hop <host> (the connector's level alone; per host as looked up below)" : 'when the next hop <host>';
  const connectorOnly = [heading, ...rows(settings, '  '), `  ${when}`, ...rows(outcomeRows(explanation.outcomes), '    ')];
  return [...connectorOnly, ...(explanation.lookup ? lookupText(explanation.lookup) : []), ''].join('\n');
}

const SESSION_LABELS: Record<InboundSessionKind, string> = {
  'without-starttls': 'without STARTTLS',
  'starttls-without-certificate': 'after STARTTLS, no client certificate',
  'starttls-with-certificate': 'after STARTTLS, with the certificate',
};

function verdictText(verdict: InboundVerdict): string {
  return verdict.ok ? '250 accepted' : `${verdict.code} ${verdict.message}`;
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
    ...(connector ? [['match', inboundMatchText(connector)] as Row, ['requires', inboundRequiresText(connector)] as Row] : []),
    ['MAIL FROM', explanation.mailFrom.map(({ session, verdict }) => `${SESSION_LABELS[session]}: ${verdictText(verdict)}`)],
    ['relaying', relayingText],
  ];
  return [`inbound session from ${client.ip}`, ...rows(facts, '  '), ''].join('\n');
}
