import { normalizeDomain } from '../config/domain.js';
import { formatHostPort } from '../config/host-port.js';
import type { Config, OutboundConnector } from '../config/types.js';
import type { FetchTrust } from '../outbound/mtaSts/fetchPolicy.js';
import { dnsLookupsFor, dnsServersOf, type DnsLookups, type Lookup, type MxRecord } from '../outbound/resolver.js';
import { daneStandingOf } from '../outbound/publishedLookups.js';
import { tlsaOwner } from '../policy/publishedPolicy.js';
import { noListedMx, planRoute, type RoutePlan } from '../outbound/routePlan.js';
import type { OutboundExplanation } from '../policy/explainOutbound.js';
import { readOnlyMtaSts } from './readOnlyMtaSts.js';
import { explainHost, explainMtaSts, publishedConsultation, type ExplainedHost, type ExplainedMtaSts, type HostFacts } from '../policy/explainPublished.js';

// `tlsrelay policy explain DOMAIN --lookup`, the lookup half: the lookups a delivery makes,
// with its code (routePlan.ts: the route, the TLSA lookups, the MTA-STS source), against
// the config's dns.servers. The MTA-STS cache under the spool belongs to the running
// relay: it is read, never written (readOnlyMtaSts.ts).

export interface LookupExplanation {
  dns: { servers: string[]; dnssec: boolean };
  /** The MX answer, for an MX route (null: the route is the connector's smart hosts). */
  mx: Lookup<MxRecord> | null;
  /** `failed`: no next hop to try; the reply every message to the domain gets. */
  route: { kind: 'hosts' } | { kind: 'failed'; outcome: 'deferred' | 'bounced'; response: string };
  dane: { consulted: false; why: string } | { consulted: true; unavailable: string | null };
  mtaSts: ExplainedMtaSts & { cacheDir: string };
  /** Every next hop the route names, in the order delivery tries them; those without an address at their preference. */
  hosts: ExplainedHost[];
  /** Set when MTA-STS enforce leaves no host to try: the deferral every message gets. */
  noListedMx: string | null;
}

/** `policy explain DOMAIN`, and with `--lookup` what the lookups found. */
export type OutboundWithLookup = OutboundExplanation & { lookup?: LookupExplanation };

/** Why a name has no address, in the words of a lookup. */
function unresolvedReason(found: Lookup<string>): string {
  switch (found.kind) {
    case 'found':
      return 'an address appeared only after the route was resolved';
    case 'nodata':
      return 'no A or AAAA record';
    case 'nxdomain':
      return 'no such name (NXDOMAIN)';
    case 'temporary':
      return `address lookup failed: ${found.error}`;
  }
}

/** The names the route is made of (MX exchanges by preference, or the smart hosts in order), each once. */
function namedHosts(connector: OutboundConnector, mx: Lookup<MxRecord> | null, port: number): Array<{ name: string; port: number; preference: number }> {
  if (connector.smartHosts.length > 0) return connector.smartHosts.map(({ host, port: hostPort }, index) => ({ name: host, port: hostPort, preference: index }));
  if (mx?.kind !== 'found') return [];
  const named = mx.records.map((record) => ({ name: normalizeDomain(record.exchange) ?? record.exchange, port, preference: record.priority }));
  return named.filter(({ name }, index) => name !== '' && name !== '.' && named.findIndex((other) => other.name === name) === index);
}

/** The facts of every host: those of the route with their plans, then the named ones left out of it for want of an address. */
async function hostFacts(plan: RoutePlan, named: Array<{ name: string; port: number; preference: number }>, lookups: DnsLookups): Promise<HostFacts[]> {
  const tlsaOf = (name: string, port: number): Pick<HostFacts, 'tlsa' | 'tlsaOwner'> => {
    if (plan.dane === undefined) return {};
    const finding = daneStandingOf(plan.dane, name).finding;
    // the owner whose answer decided: for a host behind a secure CNAME, maybe the target's
    const owner = 'owner' in finding ? finding.owner : tlsaOwner(name, port);
    return { tlsa: finding, ...(plan.dane.hosts.has(name) ? { tlsaOwner: owner } : {}) };
  };
  const routed: HostFacts[] =
    plan.kind === 'planned'
      ? plan.hops.map(({ hop, plan: hostPlan }) => ({
          name: hop.name,
          port: hop.port,
          preference: hop.preference,
          addresses: hop.addresses,
          ...tlsaOf(hop.name, hop.port),
          plan: hostPlan,
        }))
      : [];
  const left = named.filter(({ name }) => !routed.some((host) => host.name === name));
  const unresolved = await Promise.all(
    left.map(async ({ name, port, preference }): Promise<HostFacts> => ({ name, port, preference, addresses: [], unresolved: unresolvedReason(await lookups.addresses(name)), ...tlsaOf(name, port) })),
  );
  // a stable sort: the route's own order among equal preferences stays
  return [...routed, ...unresolved].sort((a, b) => a.preference - b.preference);
}

/**
 * The lookups for mail to `domain` (normalised) under `connector`, as a delivery of a
 * message without TLS-Required: No makes them. Never rejects for what DNS or HTTPS do: a
 * lookup failure is part of the explanation. `stderr` gets the warnings the MTA-STS source
 * logs (a cache file that cannot be read, a failed fetch).
 */
export async function lookUpPublished(config: Config, connector: OutboundConnector, domain: string, trust: FetchTrust, stderr: NodeJS.WritableStream): Promise<LookupExplanation> {
  const lookups = dnsLookupsFor(config);
  const { source: mtaSts, cacheDir } = readOnlyMtaSts(config, trust, stderr);
  const byMx = connector.smartHosts.length === 0;
  // the route asks the same question: the DNS cache answers both with one query
  const [plan, mx] = await Promise.all([planRoute(connector, domain, false, { config, mtaSts }), byMx ? lookups.mx(domain) : null]);
  const hosts = (await hostFacts(plan, namedHosts(connector, mx, config.delivery.port), lookups)).map((facts) => explainHost(connector, facts, plan.mtaSts));
  const consultation = publishedConsultation(connector);
  const everySkipped = plan.kind === 'planned' && plan.hops.every(({ plan: hostPlan }) => hostPlan.kind === 'skip');
  return {
    dns: { servers: dnsServersOf(config).map(formatHostPort), dnssec: config.dns.dnssec },
    mx,
    route: plan.kind === 'failed' ? { kind: 'failed', outcome: plan.route.permanent ? 'bounced' : 'deferred', response: plan.route.response } : { kind: 'hosts' },
    dane: consultation.dane.consulted ? { consulted: true, unavailable: plan.dane?.unavailable ?? null } : consultation.dane,
    mtaSts: { ...explainMtaSts(connector, plan.mtaSts), cacheDir },
    hosts,
    noListedMx: everySkipped ? noListedMx(domain, plan.mtaSts).response : null,
  };
}
