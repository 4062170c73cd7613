// What an MtaStsSource asks DNS, answered by the test DNS server: addresses through the
// relay's own lookups, TXT through Node's resolver at the same server. (The relay's DNS
// client gains txt() with the DANE work of issue 10; this adapter stands in until then.)
import { promises as dns } from 'node:dns';
import type { MtaStsLookups } from '../../src/outbound/mtaSts/source.js';
import { createDnsLookups, type Lookup } from '../../src/outbound/resolver.js';
import type { TestDnsServer } from './dnsServer.js';
import { testConfig } from './testConfig.js';

async function txtLookup(resolver: dns.Resolver, name: string): Promise<Lookup<string>> {
  try {
    return { kind: 'found', records: (await resolver.resolveTxt(name)).map((strings) => strings.join('')) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA') return { kind: 'nodata' };
    if (code === 'ENOTFOUND') return { kind: 'nxdomain' };
    return { kind: 'temporary', error: String(code) };
  }
}

/** The lookups of a relay whose dns.servers is the test server; `txtQueries` counts the TXT questions asked. */
export function testMtaStsLookups(server: TestDnsServer): MtaStsLookups & { txtQueries: () => number } {
  const addresses = createDnsLookups(testConfig({ dns: { servers: [{ host: '127.0.0.1', port: server.port }] } }));
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.port}`]);
  return {
    addresses: (name) => addresses.addresses(name),
    txt: (name) => txtLookup(resolver, name),
    txtQueries: () => server.queries.filter((query) => query.type === 'TXT').length,
  };
}
