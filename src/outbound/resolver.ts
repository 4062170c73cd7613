import { promises as dns } from 'node:dns';
import { formatHostPort } from '../config/host-port.js';
import type { Config } from '../config/types.js';
import { DNS_TIMEOUTS } from './timeouts.js';

/** One DNS question's answer, with failures sorted the way mail routing needs them. */
export type Lookup<T> =
  | { kind: 'found'; records: T[] }
  /** The name exists but has no record of this type. */
  | { kind: 'nodata' }
  /** The name does not exist: permanent. */
  | { kind: 'nxdomain' }
  /** SERVFAIL, timeout, refused, bad reply: worth asking again later. */
  | { kind: 'temporary'; error: string };

export interface MxRecord {
  exchange: string;
  priority: number;
}

export interface DnsLookups {
  mx(name: string): Promise<Lookup<MxRecord>>;
  /** A and AAAA together; IPv4 first (see addressesOf). */
  addresses(name: string): Promise<Lookup<string>>;
}

async function lookup<T>(query: () => Promise<T[]>): Promise<Lookup<T>> {
  try {
    return { kind: 'found', records: await query() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA') return { kind: 'nodata' };
    if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
    return { kind: 'temporary', error: code ?? (err as Error).message };
  }
}

/**
 * Combines the A and AAAA answers. IPv4 comes first: a host whose IPv6 path is
 * black-holed would otherwise cost a whole connect timeout before every delivery.
 */
function addressesOf(v4: Lookup<string>, v6: Lookup<string>): Lookup<string> {
  const records = [...(v4.kind === 'found' ? v4.records : []), ...(v6.kind === 'found' ? v6.records : [])];
  if (records.length > 0) return { kind: 'found', records };
  if (v4.kind === 'temporary') return v4;
  if (v6.kind === 'temporary') return v6;
  if (v4.kind === 'nxdomain' && v6.kind === 'nxdomain') return { kind: 'nxdomain' };
  return { kind: 'nodata' };
}

/**
 * Lookups through `config.dns.servers` when set, else the system's resolvers. Every
 * lookup the outbound side makes goes through here, never through nodemailer.
 */
export function createDnsLookups(config: Config): DnsLookups {
  const resolver = new dns.Resolver({ timeout: DNS_TIMEOUTS.timeout, tries: DNS_TIMEOUTS.tries });
  if (config.dns.servers.length > 0) resolver.setServers(config.dns.servers.map(formatHostPort));
  return {
    mx: (name) => lookup(() => resolver.resolveMx(name)),
    addresses: async (name) => {
      const [v4, v6] = await Promise.all([lookup(() => resolver.resolve4(name)), lookup(() => resolver.resolve6(name))]);
      return addressesOf(v4, v6);
    },
  };
}
