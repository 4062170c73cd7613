import type { TlsLevel } from '../config/types.js';
import { planWithLookups, type HostPlan, type PublishedConnector, type PublishedLookups } from './publishedPolicy.js';
import { decideTls, type TlsDecision, type TlsObservation } from './tlsDecision.js';

// `tls probe`: what one observed session would come to under each outbound level, judged
// by the functions delivery judges with — the published-policy fold for the host's plan,
// then decideTls for the session — so that the probe cannot disagree with a delivery.

/** The levels a probe shows, in the order of the level table; `none` only when it is the level judged. */
export const PROBED_LEVELS: readonly TlsLevel[] = ['opportunistic', 'encrypt', 'verify-ca', 'verify', 'fingerprint', 'dane', 'dane-only'];

export interface ProbedHost {
  /** The connector whose other settings (plaintextFallback, mtaSts, smart hosts) stand; its level is replaced by each level judged. */
  connector: PublishedConnector;
  /** The host's name as dialled (MX host or smart host), as the fold and the TLSA lookup name it. */
  host: string;
  /** The peer as deferral texts name it: `mx.test[192.0.2.1]`. */
  peer: string;
  /** What was looked up: the host's TLSA standing and its domain's MTA-STS policy, whatever the connector's own level consults. */
  found: PublishedLookups;
  /**
   * The session as a delivery observes it after STARTTLS, `dane` set when the host has
   * usable TLSA records; each level sees it with `dane` only where its plan matches them.
   */
  observed: TlsObservation;
}

/**
 * Under one level: the host's plan, and unless that plan skips or defers the host before
 * dialling, the decision over the session.
 */
export type LevelDecision =
  | { level: TlsLevel; plan: Extract<HostPlan, { kind: 'connect' }>; decision: TlsDecision }
  | { level: TlsLevel; plan: Exclude<HostPlan, { kind: 'connect' }>; decision: null };

/** What the session looks like to a delivery under `plan`: without STARTTLS at level none, without a TLSA match where DANE does not judge. */
function observedUnder(plan: Extract<HostPlan, { kind: 'connect' }>, observed: TlsObservation): TlsObservation {
  if (plan.rule.tls === 'none') return { kind: 'no-tls-attempted' };
  if (plan.dane || observed.kind !== 'established' || observed.dane === undefined) return observed;
  const { dane: _unmatched, ...withoutDane } = observed;
  return withoutDane;
}

export function decideAtLevel(probed: ProbedHost, level: TlsLevel): LevelDecision {
  const plan = planWithLookups({ ...probed.connector, tls: level }, probed.host, probed.found, false);
  if (plan.kind !== 'connect') return { level, plan, decision: null };
  return { level, plan, decision: decideTls(plan.rule, probed.peer, observedUnder(plan, probed.observed)) };
}

/** Every level of PROBED_LEVELS, and `judged` (the connector's own, or verify) where it is not among them. */
export function decideEveryLevel(probed: ProbedHost, judged: TlsLevel): LevelDecision[] {
  const levels = PROBED_LEVELS.includes(judged) ? PROBED_LEVELS : [judged, ...PROBED_LEVELS];
  return levels.map((level) => decideAtLevel(probed, level));
}

/** Whether mail would go: over this session, or (opportunistic) over the plaintext retry it asks for. */
export function wouldDeliver({ decision }: LevelDecision): boolean {
  return decision !== null && decision.action !== 'defer';
}
