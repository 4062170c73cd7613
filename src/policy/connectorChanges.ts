import type { OutboundConnector } from '../config/types.js';

// What differs between the connector a domain gets now and the one another config would
// give it, key by key: `policy what-if` replays the sessions of the domains where some
// differs, and says which differences it replays and which it takes as recorded.

/** The keys a replay applies to the recorded facts. */
const REPLAYED = ['tls', 'tlsNames', 'fingerprints', 'minVersion', 'plaintextFallback', 'mtaSts', 'smartHosts'] as const;
/** The keys that change the handshake or the chain's verdict, which a replay takes as the record has them. */
const AS_RECORDED = ['ciphers', 'crl', 'clientCertificate'] as const;

export type ReplayedKey = (typeof REPLAYED)[number];
export type RecordedKey = (typeof AS_RECORDED)[number];

export interface ConnectorChanges {
  /** The domain gets another connector (by name), whether or not its keys differ. */
  renamed: boolean;
  replayed: ReplayedKey[];
  asRecorded: RecordedKey[];
}

/** Lists that mean a set (names, pins, CRL files) compare without their order. */
export const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

function same(key: ReplayedKey | RecordedKey, current: OutboundConnector, next: OutboundConnector): boolean {
  switch (key) {
    case 'tlsNames':
    case 'fingerprints':
    case 'crl':
      return sameSet(current[key], next[key]);
    case 'smartHosts':
      // tried in order: the order is part of the route
      return current.smartHosts.map(({ host, port }) => `${host}:${port}`).join(' ') === next.smartHosts.map(({ host, port }) => `${host}:${port}`).join(' ');
    default:
      return current[key] === next[key];
  }
}

export function connectorChanges(current: OutboundConnector, next: OutboundConnector): ConnectorChanges {
  return {
    renamed: current.name !== next.name,
    replayed: REPLAYED.filter((key) => !same(key, current, next)),
    asRecorded: AS_RECORDED.filter((key) => !same(key, current, next)),
  };
}

/** Whether anything of the connector differs. */
export function changes(difference: ConnectorChanges): boolean {
  return difference.renamed || difference.replayed.length > 0 || difference.asRecorded.length > 0;
}
