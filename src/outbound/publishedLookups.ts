import { isIP } from 'node:net';
import { normalizeDomain } from '../config/domain.js';
import type { Config, OutboundConnector } from '../config/types.js';
import { tlsaOwner, type TlsaFinding } from '../policy/publishedPolicy.js';
import { presentTlsa, usableTlsa, type TlsaRecord } from '../tls/dane.js';
import type { DnsLookups, Lookup } from './resolver.js';

// The DANE lookups of one delivery (RFC 7672 §2.2): the MX RRset must be secure, then per
// MX host its addresses and its TLSA RRset at `_PORT._tcp.HOST`, each host's two lookups
// at once (and, for a host that is a secure CNAME, a third at the name it leads to). They go through the process's DNS cache, which answers a question already in
// flight with that one: made beside route resolution, they cost no query of their own
// for the MX and addresses, and do not wait for the route to be known.

/** What DANE knows of one next hop: the finding for the fold, the records and names to match a session against. */
export interface DaneHost {
  finding: TlsaFinding;
  /** The usable records, empty unless `finding` is usable. */
  usable: TlsaRecord[];
  /** The host and, when its address records come through CNAMEs, the name they lead to (RFC 7672 §3.2.2). */
  referenceNames: string[];
  /** The TLSA base domain whose answer decided, sent as SNI in DANE sessions (RFC 7672 §8.1). */
  serverName: string;
}

const insecure = (host: string, reason: string): DaneHost => ({ finding: { kind: 'insecure', reason }, usable: [], referenceNames: [], serverName: host });

/** One TLSA base domain's answer: `owner` is `_PORT._tcp.BASE`. */
export interface TlsaAnswer {
  base: string;
  owner: string;
  lookup: Lookup<TlsaRecord>;
}

/**
 * Which of the candidate TLSA base domains decides (RFC 7672 §2.2.3), in order: the
 * first whose lookup failed — passing over it could downgrade — or that gave a
 * validated RRset. When none did, the last, the host's own name, says why there is no
 * DANE (a validated denial, or an answer nothing validated).
 */
export function decidingTlsa(candidates: readonly [...TlsaAnswer[], TlsaAnswer]): TlsaAnswer {
  const decides = ({ lookup }: TlsaAnswer): boolean => lookup.kind === 'temporary' || (lookup.kind === 'found' && lookup.secure);
  return candidates.find(decides) ?? candidates[candidates.length - 1]!;
}

function standing({ base, owner, lookup }: TlsaAnswer, referenceNames: string[]): DaneHost {
  const names = { referenceNames, serverName: base };
  switch (lookup.kind) {
    case 'temporary':
      return { finding: { kind: 'failed', owner, error: lookup.error }, usable: [], ...names };
    case 'nodata':
    case 'nxdomain':
      return lookup.secure ? { finding: { kind: 'none' }, usable: [], ...names } : insecure(base, `the denial of ${owner} TLSA is not DNSSEC-validated`);
    case 'found': {
      if (!lookup.secure) return insecure(base, `the TLSA records of ${owner} are not DNSSEC-validated`);
      const sorted = usableTlsa(lookup.records);
      const unusable = lookup.records.filter((record) => !sorted.usable.includes(record)).map(presentTlsa);
      if (sorted.usable.length === 0) return { finding: { kind: 'unusable', owner, unusable }, usable: [], ...names };
      return { finding: { kind: 'usable', owner, usable: sorted.usable.map(presentTlsa), unusable }, usable: sorted.usable, ...names };
    }
  }
}

/**
 * One host's DANE standing, given that the name itself came from a secure source (a
 * secure MX answer, or the config). The TLSA RRset at the host's own name is asked beside
 * its addresses; when those come through a secure CNAME, the name it leads to is the
 * first TLSA base domain and the host's own the second (RFC 7672 §2.2.3, as Postfix
 * does), and the certificate may bear either (§3.2.2).
 */
async function daneHost(lookups: DnsLookups, host: string, port: number): Promise<DaneHost> {
  const ask = async (base: string): Promise<TlsaAnswer> => {
    const owner = tlsaOwner(base, port);
    return { base, owner, lookup: await lookups.tlsa(owner) };
  };
  const [addresses, own] = await Promise.all([lookups.addresses(host), ask(host)]);
  if (addresses.kind === 'found' && !addresses.secure) return insecure(host, `the address records of ${host} are not DNSSEC-validated`);
  if (addresses.kind !== 'found' || addresses.name === host) return standing(own, [host]);
  return standing(decidingTlsa([await ask(addresses.name), own]), [host, addresses.name]);
}

/** The MX host names of a secure MX answer, as route.ts names them; the domain itself when it has no MX (RFC 5321 §5.1). */
function mxHosts(domain: string, mx: Lookup<{ exchange: string }>): string[] | string {
  switch (mx.kind) {
    case 'found':
      if (!mx.secure) return `the MX answer for ${domain} is not DNSSEC-validated`;
      return mx.records.map((record) => normalizeDomain(record.exchange) ?? record.exchange).filter((name) => name !== '' && name !== '.');
    case 'nodata':
      return mx.secure ? [domain] : `the denial of an MX for ${domain} is not DNSSEC-validated`;
    default:
      // no route either: the route's own failure says what happened
      return [];
  }
}

/** Per next hop name, its DANE standing; `unavailable` says why no host has any, when that is known before any host is asked. */
export interface DaneStandings {
  hosts: Map<string, DaneHost>;
  unavailable?: string;
}

/**
 * Per next hop name, its DANE standing. Smart hosts are names the operator wrote, as
 * secure as the config; MX hosts count only from a secure MX answer (RFC 7672 §2.2.1).
 * Without dns.dnssec nothing is validated and nothing is asked.
 */
export async function daneStandings(connector: OutboundConnector, domain: string, config: Config, lookups: DnsLookups): Promise<DaneStandings> {
  if (!config.dns.dnssec) return { hosts: new Map(), unavailable: 'dns.dnssec is off: no answer counts as validated' };
  const named =
    connector.smartHosts.length > 0
      ? connector.smartHosts.filter(({ host }) => isIP(host) === 0)
      : mxHosts(domain, await lookups.mx(domain));
  if (typeof named === 'string') return { hosts: new Map(), unavailable: named };
  const targets = named.map((entry) => (typeof entry === 'string' ? { host: entry, port: config.delivery.port } : entry));
  const standings = await Promise.all(targets.map(({ host, port }) => daneHost(lookups, host, port)));
  return { hosts: new Map(targets.map(({ host }, index) => [host, standings[index]!])) };
}

/** A host's standing; one that was not looked up (an IP literal, a name the MX answer did not give) has nothing DANE can vouch for. */
export function daneStandingOf(standings: DaneStandings, host: string): DaneHost {
  return standings.hosts.get(host) ?? insecure(host, standings.unavailable ?? `${host} has no TLSA lookup (not a name DANE can vouch for)`);
}
