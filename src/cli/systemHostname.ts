import { lookup, lookupService } from 'node:dns/promises';
import { hostname } from 'node:os';
import { isFullyQualified, qualifiedHostname } from '../config/hostname.js';

/**
 * The system's fully qualified name, found as `hostname -f` finds it but without running
 * it (minimal images have no `hostname` binary): the OS name's addresses (getaddrinfo)
 * and the names they go by (getnameinfo) — the same /etc/hosts and DNS, through the same
 * NSS. No lookup when the OS name has a domain already; a failed one leaves the OS name.
 */
export async function systemHostname(): Promise<string> {
  const osName = hostname();
  if (isFullyQualified(osName)) return osName;
  const addresses = await lookup(osName, { all: true }).catch(() => []);
  const names = await Promise.all(addresses.map(({ address }) => lookupService(address, 0).then(({ hostname: name }) => [name], () => [])));
  return qualifiedHostname(osName, names.flat());
}
