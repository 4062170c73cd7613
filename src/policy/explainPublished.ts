import { outcomesUnder, type NextHopEvent, type NextHopOutcome } from './explainOutbound.js';
import { mxPatternMatches, type MtaStsFailure, type MtaStsMode, type MtaStsState } from './mtaSts.js';
import { consultedSources, planHost, tlsaOwner, type DecidingSource, type HostPlan, type PublishedConnector, type TlsaFinding } from './publishedPolicy.js';
import type { TlsRule } from './tlsDecision.js';

// `tlsrelay policy explain DOMAIN --lookup`, the policy half: what the published sources
// found, per MX host the plan of the fold delivery uses (publishedPolicy.ts), and what each
// failure would cause under it. The lookups are made by the caller, with delivery's code.

/** Whether a published source is asked for a connector's mail, and when not, why. */
export type Consultation = { consulted: true } | { consulted: false; why: string };

/** The same answer as consultedSources (for messages without TLS-Required: No), with the reason for each no. */
export function publishedConsultation(connector: PublishedConnector): { dane: Consultation; mtaSts: Consultation } {
  const asked = consultedSources(connector, false);
  const dane: Consultation = asked.dane ? { consulted: true } : { consulted: false, why: `the connector's level ${connector.tls} does not ask for DANE (dane and dane-only do)` };
  return { dane, mtaSts: asked.mtaSts ? { consulted: true } : { consulted: false, why: whyNoMtaSts(connector) } };
}

function whyNoMtaSts(connector: PublishedConnector): string {
  if (connector.smartHosts.length > 0) return "the route is the connector's smart hosts: an MTA-STS policy names a domain's MX hosts, and none is used";
  if (!connector.mtaSts) return 'the connector sets mtaSts: false';
  if (connector.tls === 'dane-only') return 'dane-only takes DANE or nothing: an MTA-STS policy cannot satisfy it';
  return `the connector's own rule (${connector.tls}) stands whatever the domain publishes`;
}

/** The MTA-STS state as explain shows it; `cachedUntil` is when the policy stops counting (max_age after its fetch). */
export type ExplainedMtaSts =
  | { consulted: false; why: string }
  | { consulted: true; state: 'none'; reason: string }
  /** A v=STSv1 record, but no policy could be had and none is cached: mail goes as without one. */
  | { consulted: true; state: 'unavailable'; failure: MtaStsFailure }
  | {
      consulted: true;
      state: 'policy';
      /** `cache`: read from the relay's cache file; `fetched`: fetched for this lookup, and not stored. */
      origin: 'cache' | 'fetched';
      mode: MtaStsMode;
      id: string;
      /** Seconds, as clamped (RFC 8461 §3.2). */
      maxAge: number;
      mx: string[];
      /** The policy as served. */
      text: string;
      fetchedAt: string;
      cachedUntil: string;
      /** A fetch that was due failed: the cached policy stays in force until cachedUntil. */
      refreshFailure: MtaStsFailure | null;
    };

/** `state`: what the lookup found, which a delivery makes exactly when the connector consults MTA-STS (routePlan.ts). */
export function explainMtaSts(connector: PublishedConnector, state: MtaStsState | undefined): ExplainedMtaSts {
  const consultation = publishedConsultation(connector).mtaSts;
  if (!consultation.consulted) return { consulted: false, why: consultation.why };
  if (state === undefined) throw new Error('MTA-STS is consulted for this connector, but no lookup was made');
  switch (state.kind) {
    case 'none':
      return { consulted: true, state: 'none', reason: state.reason };
    case 'unavailable':
      return { consulted: true, state: 'unavailable', failure: state.failure };
    case 'policy':
      return {
        consulted: true,
        state: 'policy',
        origin: state.origin,
        mode: state.policy.mode,
        id: state.id,
        maxAge: state.policy.maxAge,
        mx: state.policy.mx,
        text: state.text,
        fetchedAt: state.fetchedAt.toISOString(),
        cachedUntil: state.expiresAt.toISOString(),
        refreshFailure: state.refreshFailure ?? null,
      };
  }
}

/** What the lookups found for one next hop (MX host, or smart host). */
export interface HostFacts {
  name: string;
  port: number;
  preference: number;
  /** The addresses dialled, in order; empty when the name has none. */
  addresses: string[];
  /** Why the name has no address: it is left out of the route, as delivery leaves it. */
  unresolved?: string;
  /** The TLSA RRset's owner, when it was looked up. */
  tlsaOwner?: string;
  /** What DANE found, when DANE was consulted. */
  tlsa?: TlsaFinding;
  /** The fold's plan, for a host in the route. */
  plan?: HostPlan;
}

/** A TLSA lookup that failed: the hypothetical of every host whose TLSA answer DANE relies on. */
export type HostEvent = NextHopEvent | 'tlsa-lookup-fails';

export type HostOutcome = NextHopOutcome | { action: 'defer-before-dialling'; response: string };

export interface ExplainedHost {
  host: string;
  port: number;
  preference: number;
  addresses: string[];
  /** `not-tried`: the name has no address. */
  plan: HostPlan['kind'] | 'not-tried';
  decidedBy: DecidingSource | null;
  explanation: string;
  /** The reply of a host deferred before dialling. */
  deferral: string | null;
  /** What a session to the host must show. */
  rule: TlsRule | null;
  tlsa: { owner: string | null; finding: TlsaFinding } | null;
  /** Against an MTA-STS policy in force (not mode none): the first of its mx patterns the host matches, or null. */
  mtaStsMx: { matched: string | null } | null;
  outcomes: Array<{ event: HostEvent; outcome: HostOutcome }>;
}

/** Placeholder for what only the failing lookup would tell. */
const LOOKUP_ERROR = '<error>';

/** TLSA answers DANE acted on: were the same lookup to fail, the fold would defer the host. */
const reliesOnTlsa = (finding: TlsaFinding | undefined): boolean => finding?.kind === 'usable' || finding?.kind === 'unusable' || finding?.kind === 'none';

function planText(plan: HostPlan): string | null {
  return plan.kind === 'defer' ? `${plan.code} ${plan.text}` : null;
}

/** The host's outcomes: under a connect plan, each event a session can show; and a TLSA lookup failure, judged by the same fold. */
function outcomesOf(connector: PublishedConnector, facts: HostFacts, plan: HostPlan, mtaSts: MtaStsState | undefined): ExplainedHost['outcomes'] {
  const session: ExplainedHost['outcomes'] = plan.kind === 'connect' ? outcomesUnder(plan.rule, facts.name) : [];
  if (!reliesOnTlsa(facts.tlsa)) return session;
  const failed = planHost({ connector, host: facts.name, tlsa: { kind: 'failed', owner: facts.tlsaOwner ?? tlsaOwner(facts.name, facts.port), error: LOOKUP_ERROR }, mtaSts, tlsRequiredNo: false });
  return failed.kind === 'defer' ? [...session, { event: 'tlsa-lookup-fails', outcome: { action: 'defer-before-dialling', response: `${failed.code} ${failed.text}` } }] : session;
}

function mtaStsMxOf(host: string, mtaSts: MtaStsState | undefined): ExplainedHost['mtaStsMx'] {
  if (mtaSts?.kind !== 'policy' || mtaSts.policy.mode === 'none') return null;
  return { matched: mtaSts.policy.mx.find((pattern) => mxPatternMatches(host, pattern)) ?? null };
}

/** One next hop: its facts, the fold's plan, and what each failure would cause. */
export function explainHost(connector: PublishedConnector, facts: HostFacts, mtaSts: MtaStsState | undefined): ExplainedHost {
  const { name, port, preference, addresses, plan } = facts;
  const common = {
    host: name,
    port,
    preference,
    addresses,
    tlsa: facts.tlsa ? { owner: facts.tlsaOwner ?? null, finding: facts.tlsa } : null,
    mtaStsMx: mtaStsMxOf(name, mtaSts),
  };
  if (plan === undefined) {
    const why = facts.unresolved ?? 'no address';
    return { ...common, plan: 'not-tried', decidedBy: null, explanation: `${name} has no address (${why}): not tried`, deferral: null, rule: null, outcomes: [] };
  }
  return {
    ...common,
    plan: plan.kind,
    decidedBy: plan.decidedBy,
    explanation: plan.explanation,
    deferral: planText(plan),
    rule: plan.kind === 'connect' ? plan.rule : null,
    outcomes: outcomesOf(connector, facts, plan, mtaSts),
  };
}
