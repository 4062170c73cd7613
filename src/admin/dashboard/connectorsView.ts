import { implicitOutboundConnector } from '../../config/defaults.js';
import { formatDuration } from '../../config/duration.js';
import { formatHostPort } from '../../config/host-port.js';
import type { Config, OutboundConnector, TlsLevel, TlsVersion } from '../../config/types.js';
import { levelMeaning } from '../../policy/explainOutbound.js';
import { inboundMatchText, inboundRequiresText } from '../../policy/inboundConnectorText.js';

// The running config's connectors and what each enforces, in the words `policy explain`
// uses: the outbound ones in the order they are matched (the implicit default last, when
// no connector takes `*`), the inbound ones in the order the first match wins.

export interface OutboundRow {
  name: string;
  domains: string[];
  /** `MX` or the smart hosts, `host:port`, in the order they are tried. */
  route: string;
  level: TlsLevel;
  /** The level in one line, with the names or pins it checks. */
  enforces: string;
  minVersion: TlsVersion;
  /** How long a deferred message is retried, as a config duration. */
  maxAge: string;
  /** The relay's default for domains no connector names. */
  implicit: boolean;
}

export interface InboundRow {
  name: string;
  match: string;
  requires: string;
  relay: boolean;
}

export interface ConnectorsView {
  outbound: OutboundRow[];
  inbound: InboundRow[];
  acceptedDomains: string[];
}

function outboundRow(connector: OutboundConnector): OutboundRow {
  return {
    name: connector.name,
    domains: connector.domains,
    route: connector.smartHosts.length > 0 ? connector.smartHosts.map(formatHostPort).join(', ') : 'MX',
    level: connector.tls,
    enforces: levelMeaning(connector),
    minVersion: connector.minVersion,
    maxAge: formatDuration(connector.maxAge),
    implicit: connector.implicit,
  };
}

export function connectorsView(config: Config): ConnectorsView {
  const catchAll = config.outbound.some((connector) => connector.domains.includes('*'));
  const outbound = catchAll ? config.outbound : [...config.outbound, implicitOutboundConnector(config.queue.maxAge)];
  return {
    outbound: outbound.map(outboundRow),
    inbound: config.inbound.map((connector) => ({ name: connector.name, match: inboundMatchText(connector), requires: inboundRequiresText(connector), relay: connector.relay })),
    acceptedDomains: config.acceptedDomains,
  };
}
