import { implicitOutboundConnector } from '../config/defaults.js';
import { normalizeDomain } from '../config/domain.js';
import type { Config, OutboundConnector } from '../config/types.js';
import { domainPatternSpecificity } from './names.js';

export interface ConnectorSelection {
  connector: OutboundConnector;
  /** Why this connector, in words, for logs and `policy explain`. */
  reason: string;
}

/**
 * The implicit default, one per config snapshot: the connector is what per-connector
 * state (the TLS context cache, the backoff scopes) is kept by, and a fresh object for
 * every delivery would rebuild a TLS context with every trust anchor each time.
 */
const implicitConnectors = new WeakMap<Config, OutboundConnector>();

function implicitConnectorOf(config: Config): OutboundConnector {
  let connector = implicitConnectors.get(config);
  if (connector === undefined) {
    connector = implicitOutboundConnector(config.queue.maxAge);
    implicitConnectors.set(config, connector);
  }
  return connector;
}

/**
 * The outbound connector for a recipient domain: the most specific matching pattern
 * wins; between equally specific patterns the connector listed first wins. A domain no
 * connector names gets the implicit default (MX routing, opportunistic TLS).
 */
export function selectOutboundConnector(config: Config, domain: string): ConnectorSelection {
  // a name that does not normalise is still compared as typed, so `*` connectors apply to it
  const name = normalizeDomain(domain) ?? domain.trim().toLowerCase();
  let best: { connector: OutboundConnector; pattern: string; score: number } | undefined;
  for (const connector of config.outbound) {
    for (const pattern of connector.domains) {
      const score = domainPatternSpecificity(pattern, name);
      if (score !== undefined && (best === undefined || score > best.score)) best = { connector, pattern, score };
    }
  }
  if (best === undefined) {
    return {
      connector: implicitConnectorOf(config),
      reason: `no connector names domain "${name}"; using the implicit default connector (MX routing, opportunistic TLS)`,
    };
  }
  return {
    connector: best.connector,
    reason: `domain "${name}" matched pattern "${best.pattern}" of connector "${best.connector.name}"`,
  };
}
