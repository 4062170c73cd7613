import { isIP } from 'node:net';
import { normalizeDomain } from '../config/domain.js';
import type { Config, OutboundConnector } from '../config/types.js';
import { dnsLookupsFor, type DnsLookups, type Lookup, type MxRecord } from './resolver.js';

export interface NextHop {
  /** The name dialled (MX host, smart host or the domain itself) or an IP literal: for logs, SNI and verification. */
  name: string;
  addresses: string[];
  port: number;
  preference: number;
}

export type Route =
  | { kind: 'hosts'; hosts: NextHop[] }
  /** `response` is the full line with the code first, e.g. "451 4.4.3 Host or domain name not found. …". */
  | { kind: 'failed'; permanent: boolean; code: number; response: string };

type AddressType = 'MX' | 'A';

/** Postfix's wording, so operators can search for it. */
function nameServiceError(name: string, type: AddressType, failure: Exclude<Lookup<unknown>, { kind: 'found' }>): string {
  const detail =
    failure.kind === 'temporary'
      ? 'Host not found, try again'
      : failure.kind === 'nxdomain'
        ? 'Host not found'
        : 'Host found but no data record of requested type';
  return `Host or domain name not found. Name service error for name=${name} type=${type}: ${detail}`;
}

function temporaryFailure(text: string): Route {
  return { kind: 'failed', permanent: false, code: 451, response: `451 4.4.3 ${text}` };
}

function permanentFailure(code: number, text: string): Route {
  return { kind: 'failed', permanent: true, code, response: `${code} ${text}` };
}

type HopLookup = { kind: 'hop'; hop: NextHop } | { kind: 'unresolved'; name: string; failure: Exclude<Lookup<string>, { kind: 'found' }> };

async function resolveHop(lookups: DnsLookups, name: string, port: number, preference: number): Promise<HopLookup> {
  if (isIP(name) !== 0) return { kind: 'hop', hop: { name, addresses: [name], port, preference } };
  const result = await lookups.addresses(name);
  if (result.kind !== 'found') return { kind: 'unresolved', name, failure: result };
  return { kind: 'hop', hop: { name, addresses: result.records, port, preference } };
}

/** The hosts that resolved; when none did, the failure of the last one that did not. */
function hopsOrFailure(lookups: HopLookup[]): { hosts: NextHop[] } | { lastFailure: Extract<HopLookup, { kind: 'unresolved' }>; anyTemporary: boolean } {
  const hosts = lookups.flatMap((entry) => (entry.kind === 'hop' ? [entry.hop] : []));
  if (hosts.length > 0) return { hosts };
  const failures = lookups.filter((entry): entry is Extract<HopLookup, { kind: 'unresolved' }> => entry.kind === 'unresolved');
  const lastFailure = failures[failures.length - 1];
  if (lastFailure === undefined) throw new Error('a route needs at least one host to look up');
  return { lastFailure, anyTemporary: failures.some((entry) => entry.failure.kind === 'temporary') };
}

/**
 * Smart hosts in the order configured. A smart host that does not resolve is the
 * operator's to fix, so it defers (never bounces) even when the name does not exist.
 */
async function smartHostRoute(connector: OutboundConnector, lookups: DnsLookups): Promise<Route> {
  const resolved = await Promise.all(connector.smartHosts.map(({ host, port }, index) => resolveHop(lookups, host, port, index)));
  const result = hopsOrFailure(resolved);
  if ('hosts' in result) return { kind: 'hosts', hosts: result.hosts };
  return temporaryFailure(nameServiceError(result.lastFailure.name, 'A', result.lastFailure.failure));
}

/** By preference, equal preferences in random order (RFC 5321 5.1), each name once. */
function orderMx(records: MxRecord[]): MxRecord[] {
  const keyed = records.map((record) => ({ record, tiebreak: Math.random() }));
  keyed.sort((a, b) => a.record.priority - b.record.priority || a.tiebreak - b.tiebreak);
  const byName = new Map<string, MxRecord>();
  for (const { record } of keyed) {
    const exchange = normalizeDomain(record.exchange) ?? record.exchange;
    if (!byName.has(exchange)) byName.set(exchange, { ...record, exchange });
  }
  return [...byName.values()];
}

const isNullMx = (record: MxRecord): boolean => record.exchange === '' || record.exchange === '.';

async function mxRoute(domain: string, port: number, lookups: DnsLookups): Promise<Route> {
  const mx = await lookups.mx(domain);
  switch (mx.kind) {
    case 'temporary':
      return temporaryFailure(nameServiceError(domain, 'MX', mx));
    case 'nxdomain':
      return permanentFailure(550, `5.1.2 ${nameServiceError(domain, 'MX', mx)}`);
    case 'nodata': {
      // no MX: the domain's own address is its implicit MX (RFC 5321 5.1)
      const implicit = await resolveHop(lookups, domain, port, 0);
      if (implicit.kind === 'hop') return { kind: 'hosts', hosts: [implicit.hop] };
      if (implicit.failure.kind === 'temporary') return temporaryFailure(nameServiceError(domain, 'A', implicit.failure));
      return permanentFailure(550, `5.4.4 ${nameServiceError(domain, 'A', implicit.failure)}`);
    }
    case 'found': {
      const exchanges = mx.records.filter((record) => !isNullMx(record));
      if (exchanges.length === 0) return permanentFailure(556, `5.1.10 Domain ${domain} does not accept mail (null MX)`);
      const resolved = await Promise.all(orderMx(exchanges).map((record) => resolveHop(lookups, record.exchange, port, record.priority)));
      const result = hopsOrFailure(resolved);
      if ('hosts' in result) return { kind: 'hosts', hosts: result.hosts };
      const text = nameServiceError(result.lastFailure.name, 'A', result.lastFailure.failure);
      return result.anyTemporary ? temporaryFailure(text) : permanentFailure(550, `5.4.4 ${text}`);
    }
  }
}

/**
 * Where mail for `domain` goes under `connector`: its smart hosts, else the domain's MX
 * hosts on `delivery.port`. Every lookup goes through `config.dns.servers` when set, and
 * through the process's DNS cache.
 * Lookups never throw: a DNS failure comes back as a `failed` route with its reply.
 */
export async function resolveRoute(connector: OutboundConnector, domain: string, config: Config): Promise<Route> {
  const lookups = dnsLookupsFor(config);
  if (connector.smartHosts.length > 0) return smartHostRoute(connector, lookups);
  const name = normalizeDomain(domain);
  if (name === undefined) return permanentFailure(550, `5.1.2 Bad destination domain name "${domain}"`);
  return mxRoute(name, config.delivery.port, lookups);
}
