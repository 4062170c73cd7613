import type { Config, OutboundConnector } from '../config/types.js';
import type { MtaStsState } from '../policy/mtaSts.js';
import { consultedSources, noListedMxText, planWithLookups, stsPolicy, type HostPlan } from '../policy/publishedPolicy.js';
import { daneStandingOf, daneStandings, type DaneHost, type DaneStandings } from './publishedLookups.js';
import type { Disposition } from './replies.js';
import { dnsLookupsFor } from './resolver.js';
import { resolveRoute, type NextHop, type Route } from './route.js';

// What a delivery to one domain knows before it dials: the route, the TLSA lookups and the
// MTA-STS policy, asked at once, and per next hop the published-policy fold's plan.
// Delivery acts on it; `policy explain --lookup` shows it — one function, so that the two
// cannot disagree.

/** One next hop and what the fold made of it; `dane` is its DANE standing, when DANE was consulted. */
export interface PlannedHop {
  hop: NextHop;
  dane: DaneHost | undefined;
  plan: HostPlan;
}

/** `dane` and `mtaSts` are undefined when that source was not consulted. */
export type RoutePlan = { dane: DaneStandings | undefined; mtaSts: MtaStsState | undefined } & (
  | { kind: 'failed'; route: Extract<Route, { kind: 'failed' }> }
  | { kind: 'planned'; hops: PlannedHop[] }
);

/** Where a plan's published facts come from: the config snapshot's DNS servers, and an MTA-STS source. */
export interface PlanSources {
  config: Config;
  mtaSts: { policyFor(domain: string): Promise<MtaStsState> };
}

/** The plan of every next hop of `domain` under `connector`, for messages with (`tlsRequiredNo`) or without `TLS-Required: No`. */
export async function planRoute(connector: OutboundConnector, domain: string, tlsRequiredNo: boolean, { config, mtaSts }: PlanSources): Promise<RoutePlan> {
  const consulted = consultedSources(connector, tlsRequiredNo);
  const [route, dane, policy] = await Promise.all([
    resolveRoute(connector, domain, config),
    consulted.dane ? daneStandings(connector, domain, config, dnsLookupsFor(config)) : undefined,
    consulted.mtaSts ? mtaSts.policyFor(domain) : undefined,
  ]);
  if (route.kind === 'failed') return { kind: 'failed', route, dane, mtaSts: policy };
  const hops = route.hosts.map((hop): PlannedHop => {
    const standing = dane ? daneStandingOf(dane, hop.name) : undefined;
    return { hop, dane: standing, plan: planWithLookups(connector, hop.name, { tlsa: standing?.finding, mtaSts: policy }, tlsRequiredNo) };
  });
  return { kind: 'planned', hops, dane, mtaSts: policy };
}

/** MTA-STS enforce named none of the MX hosts: nothing may carry the mail until the policy or the MX changes. */
export function noListedMx(domain: string, mtaSts: MtaStsState | undefined): Disposition {
  const text = noListedMxText(domain, mtaSts?.kind === 'policy' ? stsPolicy(mtaSts) : { source: 'none' });
  return { outcome: 'deferred', code: 450, response: `450 ${text}` };
}
