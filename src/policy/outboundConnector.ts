import { implicitOutboundConnector } from '../config/defaults.js';
import { normalizeDomain } from '../config/domain.js';
import type { Config, OutboundConnector } from '../config/types.js';

export interface ConnectorSelection {
  connector: OutboundConnector;
  /** Why this connector, in words, for logs and `policy explain`. */
  reason: string;
}

/**
 * How specifically a pattern names a domain, or undefined when it does not match.
 * An exact name beats any wildcard; a wildcard with a longer base beats a shorter one
 * (`*.x.b.test` over `*.b.test`); `*` matches everything and is the weakest.
 */
function specificity(pattern: string, domain: string): number | undefined {
  if (pattern === '*') return 0;
  if (pattern.startsWith('*.')) {
    const base = pattern.slice(1); // '.b.test': a label boundary, so 'xb.test' does not match
    return domain.endsWith(base) ? base.length : undefined;
  }
  // exact names outrank every wildcard, whatever their length
  return pattern === domain ? Number.MAX_SAFE_INTEGER : undefined;
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
      const score = specificity(pattern, name);
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
