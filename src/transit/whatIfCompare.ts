import type { Config, OutboundConnector } from '../config/types.js';
import { changes, connectorChanges, sameSet } from '../policy/connectorChanges.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import type { CompareDomain, ConnectorSide } from './whatIf.js';

// The two configs of a what-if side by side: per recipient domain the connector each
// gives it, and what a replay takes as recorded because it judges the chain or the TLSA
// answers, which the record holds as they were.

const sideOf = (connector: OutboundConnector): ConnectorSide => ({ name: connector.name, level: connector.tls, implicit: connector.implicit });

/** Per domain, its connector now and under `next`, or undefined when nothing of it changes. */
export function compareConfigs(current: Config, next: Config): CompareDomain {
  return (domain) => {
    const now = selectOutboundConnector(current, domain).connector;
    const then = selectOutboundConnector(next, domain).connector;
    const difference = connectorChanges(now, then);
    if (!changes(difference)) return undefined;
    return { current: sideOf(now), next: sideOf(then), changes: difference, target: { connector: then, mxPort: next.delivery.port } };
  };
}

/** Config keys outside the connectors that a replay does not apply: the chain and TLSA verdicts stay as recorded. */
export type GlobalAsRecorded = 'tls.trust' | 'tls.crl' | 'dns.dnssec';

export function globalAsRecorded(current: Config, next: Config): GlobalAsRecorded[] {
  const keys: GlobalAsRecorded[] = [];
  if (!sameSet(current.tls.trust, next.tls.trust)) keys.push('tls.trust');
  if (!sameSet(current.tls.crl, next.tls.crl)) keys.push('tls.crl');
  if (current.dns.dnssec !== next.dns.dnssec) keys.push('dns.dnssec');
  return keys;
}
