import type { InboundConnector } from '../config/types.js';

// An inbound connector in words, as `policy explain --inbound` and the dashboard say it.

/** Which sessions the connector is for: its given match fields, or every session. */
export function inboundMatchText({ match }: InboundConnector): string {
  const given = Object.entries(match).filter((entry): entry is [string, string[]] => entry[1] !== undefined);
  return given.length > 0 ? given.map(([field, values]) => `${field} ${values.join(', ')}`).join('; ') : 'every session';
}

/** What the connector demands of its sessions. */
export function inboundRequiresText({ require }: InboundConnector): string {
  const demands = [
    ...(require.tls ? ['STARTTLS'] : []),
    ...(require.certificateNames ? [`a trusted client certificate naming ${require.certificateNames.join(' or ')}`] : []),
    ...(require.ips ? [`client IP in ${require.ips.join(', ')}`] : []),
  ];
  return demands.length > 0 ? demands.join('; ') : 'nothing';
}
