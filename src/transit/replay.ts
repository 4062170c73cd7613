import { TLS_VERSIONS, type OutboundConnector, type TlsLevel } from '../config/types.js';
import type { AppliedPolicy } from '../policy/appliedPolicy.js';
import { judgeObserved, type ObservedSession, type ObservedTls } from '../policy/observedTls.js';
import { peerName } from '../policy/peerName.js';
import { consultedSources, planHost, type HostPlan } from '../policy/publishedPolicy.js';
import type { TlsResultType } from '../policy/resultTypes.js';
import { decideTls, type TlsDecision, type TlsObservation } from '../policy/tlsDecision.js';
import type { CertVerdict, TlsFacts } from '../queue/types.js';
import type { TransitRecord } from './record.js';

// One recorded session replayed under another connector (`policy what-if`): the published
// facts the delivery found go through the same fold (planHost), what the session showed
// through the same judgement of names and pins (judgeObserved) and the same decision
// (decideTls) as a live session — nothing here decides on its own. What the record does
// not hold the replay does not guess: it says it cannot tell, and why.

/** What a record is replayed under: the new config's connector for its domain, and the port its MX routes dial. */
export interface ReplayTarget {
  connector: OutboundConnector;
  /** delivery.port of the new config. */
  mxPort: number;
}

/**
 * Why a replay cannot tell:
 * - `not-recorded`: the record was written before the relay kept what a replay reads;
 * - `not-dialled`: a published policy kept the host from being dialled then, the new connector would dial it;
 * - `other-route`: the new connector sends the domain's mail to other hosts (smart hosts, MX, another port);
 * - `tlsa-not-looked-up` / `mta-sts-not-looked-up`: the new connector asks a published source the delivery then did not;
 * - `dane-not-matched`: the new rule needs a TLSA match, and the certificate was not matched against TLSA records then;
 * - `tls-not-tried`: the next hop offered STARTTLS, but level none never tried it, so nothing is known of its certificate.
 */
export type UnknownReason = 'not-recorded' | 'not-dialled' | 'other-route' | 'tlsa-not-looked-up' | 'mta-sts-not-looked-up' | 'dane-not-matched' | 'tls-not-tried';

/** What a deferral comes down to, for an operator: the output groups deferrals by it, with the hosts that gave it. */
export type DeferralReason =
  | 'starttls-not-offered'
  | 'starttls-refused'
  | 'handshake-failed'
  | 'below-min-version'
  | 'certificate-name'
  | 'certificate-chain'
  | 'certificate-expired'
  | 'fingerprint'
  | 'dane'
  | 'no-usable-tlsa'
  | 'tlsa-lookup-failed'
  | 'not-in-mta-sts';

export type ReplayOutcome =
  /** The session would carry its mail, with this TLS and verdict, under this policy. */
  | { kind: 'delivers'; tls: TlsFacts | null; verdict: CertVerdict; policy: AppliedPolicy }
  /** Opportunistic TLS would break this session and retry the host in plaintext (the retry carries the mail). */
  | { kind: 'falls-back'; text: string }
  /** Nothing would go over this host: `text` is the deferral with its code, as the relay would write it. */
  | { kind: 'defers'; reason: DeferralReason; failure: TlsResultType; text: string }
  | { kind: 'cannot-tell'; reason: UnknownReason };

const cannotTell = (reason: UnknownReason): ReplayOutcome => ({ kind: 'cannot-tell', reason });

/** Whether the new connector would dial the host the record names, on that port. */
function sameRoute(record: TransitRecord, target: ReplayTarget): boolean {
  const { smartHosts } = target.connector;
  if (smartHosts.length === 0) return record.route === 'mx' && record.port === target.mxPort;
  return smartHosts.some(({ host, port }) => host.toLowerCase() === record.host.toLowerCase() && port === record.port);
}

/** The new connector's plan for the host, from the published facts the delivery found; a reason when it asks for facts not recorded. */
function planFor(record: TransitRecord, connector: OutboundConnector): HostPlan | UnknownReason {
  const tlsRequiredNo = record.tlsRequiredNo === true;
  const asked = consultedSources(connector, tlsRequiredNo);
  const { tlsa, mtaSts } = record.published ?? {};
  if (asked.dane && tlsa === undefined) return 'tlsa-not-looked-up';
  if (asked.mtaSts && mtaSts === undefined) return 'mta-sts-not-looked-up';
  return planHost({ connector, host: record.host, tlsa: asked.dane ? tlsa : undefined, mtaSts: asked.mtaSts ? mtaSts : undefined, tlsRequiredNo });
}

/** A session that negotiated a protocol below the connector's floor: TLS picks the newest both sides share, so the floor fails it. */
function belowFloor(observed: ObservedSession, connector: OutboundConnector): boolean {
  const rank = (TLS_VERSIONS as readonly string[]).indexOf(observed.protocol);
  return rank !== -1 && rank < TLS_VERSIONS.indexOf(connector.minVersion);
}

/** A session no TLSA record judges has no DANE match to show. */
function withoutDane({ dane, ...session }: ObservedSession): ObservedSession {
  return session;
}

/** What the new rule's session would have observed, or why that cannot be known. */
function observationUnder(observed: ObservedTls, level: TlsLevel, needsDane: boolean, connector: OutboundConnector): ObservedTls | UnknownReason {
  // level none never sends STARTTLS, whatever the next hop offers
  if (level === 'none') return { kind: 'no-tls-attempted', starttlsOffered: false };
  switch (observed.kind) {
    case 'no-tls-attempted':
      return observed.starttlsOffered ? 'tls-not-tried' : { kind: 'starttls-not-offered' };
    case 'established': {
      if (belowFloor(observed, connector)) {
        return { kind: 'handshake-failed', reason: `the next hop negotiated ${observed.protocol} at most, below the connector's minVersion ${connector.minVersion}` };
      }
      if (!needsDane) return withoutDane(observed);
      return observed.dane === undefined ? 'dane-not-matched' : observed;
    }
    default:
      return observed;
  }
}

/** What an operator would act on in a deferral the decision made. */
function reasonOf(observed: TlsObservation, failure: TlsResultType, level: TlsLevel, belowMinVersion: boolean): DeferralReason {
  switch (observed.kind) {
    case 'no-tls-attempted':
    case 'starttls-not-offered':
      return 'starttls-not-offered';
    case 'starttls-refused':
      return 'starttls-refused';
    case 'handshake-failed':
      return belowMinVersion ? 'below-min-version' : 'handshake-failed';
    case 'established':
      switch (failure) {
        case 'certificate-host-mismatch':
          return 'certificate-name';
        case 'certificate-expired':
          return 'certificate-expired';
        case 'tlsa-invalid':
        case 'dane-required':
          return 'dane';
        default:
          return level === 'fingerprint' ? 'fingerprint' : 'certificate-chain';
      }
  }
}

/** How the replayed session was judged: the observation as the decision took it, the rule's level, and the record's circumstances. */
interface Judged {
  observed: TlsObservation;
  level: TlsLevel;
  /** The record is of a plaintext retry. */
  fallback: boolean;
  /** The session came about at a protocol below the new connector's minVersion. */
  belowMinVersion: boolean;
}

function outcomeOf(decision: TlsDecision, { observed, level, fallback, belowMinVersion }: Judged): ReplayOutcome {
  switch (decision.action) {
    case 'deliver':
      return { kind: 'delivers', tls: decision.tls, verdict: decision.verdict, policy: decision.policy };
    case 'plaintext-fallback':
      // the record of a plaintext retry stands for the retry itself: that one delivers, in plaintext
      return fallback ? { kind: 'delivers', tls: null, verdict: 'none', policy: decision.policy } : { kind: 'falls-back', text: decision.reason };
    case 'defer':
      return { kind: 'defers', reason: reasonOf(observed, decision.failure, level, belowMinVersion), failure: decision.failure, text: `${decision.code} ${decision.text}` };
  }
}

/** A host the new plan would not dial: MTA-STS enforce does not name it, or DANE cannot be satisfied. */
function notDialled(plan: Extract<HostPlan, { kind: 'skip' | 'defer' }>): ReplayOutcome {
  const reason: DeferralReason = plan.kind === 'skip' ? 'not-in-mta-sts' : plan.failure === 'dnssec-invalid' ? 'tlsa-lookup-failed' : 'no-usable-tlsa';
  return { kind: 'defers', reason, failure: plan.failure, text: `${plan.code} ${plan.text}` };
}

/** What the recorded session would have come to under the target's connector. */
export function replaySession(record: TransitRecord, target: ReplayTarget): ReplayOutcome {
  if (record.route === undefined) return cannotTell('not-recorded');
  if (!sameRoute(record, target)) return cannotTell('other-route');
  const plan = planFor(record, target.connector);
  if (typeof plan === 'string') return cannotTell(plan);
  if (plan.kind !== 'connect') return notDialled(plan);
  if (record.ip === null) return cannotTell('not-dialled');
  if (record.observed === undefined) return cannotTell('not-recorded');
  const { connector } = target;
  const observed = observationUnder(record.observed, plan.rule.tls, plan.dane, connector);
  if (typeof observed === 'string') return cannotTell(observed);
  const names = connector.tlsNames.length > 0 ? connector.tlsNames : [record.host];
  const judged = judgeObserved(observed, { names, fingerprints: connector.fingerprints });
  const belowMinVersion = record.observed.kind === 'established' && observed.kind === 'handshake-failed';
  const decision = decideTls(plan.rule, peerName(record.host, record.ip), judged);
  return outcomeOf(decision, { observed: judged, level: plan.rule.tls, fallback: record.fallback === true, belowMinVersion });
}
