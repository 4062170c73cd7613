// the default export: dns.setServers rebinds its functions, which named imports would miss
import dns from 'node:dns';
import type dnsPacket from 'dns-packet';
import { parseHostPort } from '../config/host-port.js';
import { DNS_PORT } from '../config/defaults.js';
import type { Config, HostPort } from '../config/types.js';
import type { TlsaRecord } from '../tls/dane.js';
import { cachedDnsQuery } from './dns/cache.js';
import { createDnsQuery, type DnsQuery } from './dns/client.js';
import type { Lookup } from './dns/lookup.js';
import { DNS_TIMEOUTS } from './timeouts.js';

export type { Lookup };

export interface MxRecord {
  exchange: string;
  priority: number;
}

export interface DnsLookups {
  mx(name: string): Promise<Lookup<MxRecord>>;
  /** A and AAAA together; IPv4 first (see addressesOf). */
  addresses(name: string): Promise<Lookup<string>>;
  /** One string per record, its character-strings joined without separator (RFC 7208 3.3, RFC 8461 3.1). */
  txt(name: string): Promise<Lookup<string>>;
  tlsa(name: string): Promise<Lookup<TlsaRecord>>;
}

/** The records of a found answer in the shape the caller wants. */
function mapRecords<T>(lookup: Lookup<dnsPacket.Answer>, convert: (record: dnsPacket.Answer) => T | undefined): Lookup<T> {
  if (lookup.kind !== 'found') return lookup;
  const records = lookup.records.flatMap((record) => {
    const converted = convert(record);
    return converted === undefined ? [] : [converted];
  });
  return { ...lookup, records };
}

/**
 * Combines the A and AAAA answers. IPv4 comes first: a host whose IPv6 path is
 * black-holed would otherwise cost a whole connect timeout before every delivery.
 * Secure when every answer that gave addresses was: those are the addresses dialled.
 */
function addressesOf(v4: Lookup<string>, v6: Lookup<string>): Lookup<string> {
  const found = [v4, v6].filter((lookup): lookup is Extract<Lookup<string>, { kind: 'found' }> => lookup.kind === 'found');
  const [first] = found;
  if (first !== undefined) {
    return {
      kind: 'found',
      records: found.flatMap((lookup) => lookup.records),
      name: first.name,
      secure: found.every((lookup) => lookup.secure),
      ttl: Math.min(...found.map((lookup) => lookup.ttl)),
    };
  }
  if (v4.kind === 'temporary') return v4;
  if (v6.kind === 'temporary') return v6;
  const denial = { secure: v4.secure && v6.secure, ttl: Math.min(v4.ttl, v6.ttl) };
  if (v4.kind === 'nxdomain' && v6.kind === 'nxdomain') return { kind: 'nxdomain', ...denial };
  return { kind: 'nodata', ...denial };
}

const textOf = (data: dnsPacket.TxtData): string =>
  (Array.isArray(data) ? data : [data]).map((part) => (typeof part === 'string' ? part : part.toString('utf8'))).join('');

/** Typed lookups over one query function (cached or not). */
export function createDnsLookups(query: DnsQuery): DnsLookups {
  const address = async (name: string, type: 'A' | 'AAAA'): Promise<Lookup<string>> =>
    mapRecords(await query(name, type), (record) => (record.type === type ? record.data : undefined));
  return {
    mx: async (name) =>
      mapRecords(await query(name, 'MX'), (record) => (record.type === 'MX' ? { exchange: record.data.exchange, priority: record.data.preference ?? 0 } : undefined)),
    addresses: async (name) => {
      const [v4, v6] = await Promise.all([address(name, 'A'), address(name, 'AAAA')]);
      return addressesOf(v4, v6);
    },
    txt: async (name) => mapRecords(await query(name, 'TXT'), (record) => (record.type === 'TXT' ? textOf(record.data) : undefined)),
    tlsa: async (name) =>
      mapRecords(await query(name, 'TLSA'), (record) =>
        record.type === 'TLSA'
          ? { usage: record.data.usage, selector: record.data.selector, matchingType: record.data.matchingType, data: record.data.certificate }
          : undefined,
      ),
  };
}

/** `dns.servers`, else the system's (resolv.conf, as Node read it at start), else a resolver on this machine as c-ares assumes. */
export function dnsServersOf(config: Config): HostPort[] {
  if (config.dns.servers.length > 0) return config.dns.servers;
  const system = dns.getServers().flatMap((text) => parseHostPort(text, DNS_PORT, 'ip') ?? []);
  return system.length > 0 ? system : [{ host: '127.0.0.1', port: DNS_PORT }];
}

let current: { key: string; lookups: DnsLookups } | undefined;

/**
 * The lookups of this process: one cache for every delivery. A config whose DNS
 * servers or dnssec setting differ (a reload that changed them) starts a new one, so no
 * answer of the old servers, or trusted under the old setting, is used after it.
 */
export function dnsLookupsFor(config: Config): DnsLookups {
  const servers = dnsServersOf(config);
  const key = JSON.stringify({ servers, dnssec: config.dns.dnssec });
  if (current?.key !== key) {
    const query = createDnsQuery({ servers, dnssec: config.dns.dnssec, ...DNS_TIMEOUTS });
    current = { key, lookups: createDnsLookups(cachedDnsQuery(query)) };
  }
  return current.lookups;
}
