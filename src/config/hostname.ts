import { normalizeDomain } from './domain.js';

// The relay's own name (server.hostname) when the config leaves it out, and whether a
// name is one that receivers take in an EHLO: many refuse a name without a domain
// (Postfix's reject_non_fqdn_helo_hostname, Exchange's "HELO/EHLO requires FQDN").

export function isFullyQualified(name: string): boolean {
  return name.includes('.');
}

/**
 * The system's name as `hostname -f` finds it: the OS name when it has a domain already,
 * else the first of the names its addresses go by that is that name plus a domain — other
 * names (`localhost.localdomain`, when the name resolves to 127.0.0.1) belong to someone
 * else. Without such a name: the OS name as it is.
 */
export function qualifiedHostname(osName: string, namesOfItsAddresses: readonly string[]): string {
  const short = normalizeDomain(osName) ?? 'localhost';
  if (isFullyQualified(short)) return short;
  const qualified = namesOfItsAddresses.map((name) => normalizeDomain(name)).find((name) => name !== undefined && name.startsWith(`${short}.`));
  return qualified ?? short;
}

/**
 * The warning for a name without a domain, or undefined; said after `server.hostname: `.
 * `setInFile`: the operator wrote it, rather than the system's name being taken.
 */
export function unqualifiedHostnameWarning(hostname: string, setInFile: boolean): string | undefined {
  if (isFullyQualified(hostname)) return undefined;
  const what = setInFile ? `"${hostname}" has no domain` : `left out, and the system's name "${hostname}" has no domain`;
  return `${what}; many receivers refuse such a name in EHLO: set server.hostname to the relay's fully qualified name (e.g. relay.example.com)`;
}
