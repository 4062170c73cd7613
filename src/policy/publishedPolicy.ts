import type { OutboundConnector, TlsLevel } from '../config/types.js';
import type { AppliedPolicy, PolicySource } from './appliedPolicy.js';
import { mxPatternMatches, policyLines, type MtaStsFacts, type MtaStsState, type StsFailureType } from './mtaSts.js';
import type { DaneFailure, NegotiationFailure } from './resultTypes.js';
import { connectorRule, POLICY_DEFERRAL_CODE, type TlsRule } from './tlsDecision.js';

// The fold of what a recipient domain publishes (DANE, MTA-STS) into the connector's
// level, per MX host, as ARCHITECTURE.md's "Published policies" table says: published
// policies raise a level and never lower it; DANE judges an MX host with usable secure
// TLSA records, MTA-STS the others (RFC 8461 §2); a TLSA lookup that failed defers, an
// MTA-STS policy that could not be had is no policy. The lookups are the outbound side's.

/** Where a next hop's TLSA records are published (RFC 7672 §2.2): `_25._tcp.mx.example.net`. */
export const tlsaOwner = (host: string, port: number): string => `_${port}._tcp.${host}`;

/**
 * What the TLSA lookup at `_PORT._tcp.HOST` found, sorted as RFC 7672 §2.2 sorts it.
 * Records are in presentation form (`3 1 1 <hex>`); `owner` is where they were asked
 * (the host's own name, or the one its secure CNAME leads to: RFC 7672 §2.2.3).
 * - `usable`: DNSSEC-validated, and some records of a usage SMTP can use (DANE-TA, DANE-EE);
 * - `unusable`: validated, but none usable (PKIX usages, unknown parameters): TLS without authentication;
 * - `none`: validated proof that there are none;
 * - `insecure`: nothing validated vouches for the answer (`reason`: the MX or address
 *   answer was not secure, the TLSA answer was not, or dns.dnssec is off): no DANE;
 * - `failed`: SERVFAIL (how a validating resolver reports a bogus answer), a timeout.
 */
export type TlsaFinding =
  | { kind: 'usable'; owner: string; usable: string[]; unusable: string[] }
  | { kind: 'unusable'; owner: string; unusable: string[] }
  | { kind: 'none' }
  | { kind: 'insecure'; reason: string }
  | { kind: 'failed'; owner: string; error: string };

/** A failure recorded for a session MTA-STS let go ahead: a policy not to be had, or an MX a `testing` policy does not name. */
export type UnreportedFailure = StsFailureType | Extract<NegotiationFailure, 'validation-failure'>;

export type PublishedConnector = Pick<OutboundConnector, 'tls' | 'plaintextFallback' | 'mtaSts' | 'smartHosts'>;

/** Which published sources a delivery asks: the lookups to make before it dials. */
export interface Consulted {
  dane: boolean;
  mtaSts: boolean;
}

/**
 * DANE under `dane` and `dane-only` only; MTA-STS where the connector allows it and its
 * level is one a policy can raise (`none` too, to say the operator overrode it). A message
 * with `TLS-Required: No` asks for neither, except `dane-only`'s DANE: that is the
 * operator's own rule, not the domain's.
 */
export function consultedSources(connector: PublishedConnector, tlsRequiredNo: boolean): Consulted {
  const stsLevels: readonly TlsLevel[] = ['none', 'opportunistic', 'encrypt', 'dane'];
  return {
    dane: connector.tls === 'dane-only' || (connector.tls === 'dane' && !tlsRequiredNo),
    // a smart-host route has no MX hosts for a policy to name
    mtaSts: connector.mtaSts && connector.smartHosts.length === 0 && stsLevels.includes(connector.tls) && !tlsRequiredNo,
  };
}

/**
 * Whether `TLS-Required: No` switches off a source this connector would ask — what the
 * transit record calls published policies waived. Not for `dane-only` (its DANE is the
 * operator's rule) nor for a connector that asks no published source anyway.
 */
export function waivedByHeader(connector: PublishedConnector): boolean {
  const asked = consultedSources(connector, false);
  const waived = consultedSources(connector, true);
  return (asked.dane && !waived.dane) || (asked.mtaSts && !waived.mtaSts);
}

export interface PublishedFacts {
  connector: PublishedConnector;
  /** The MX host (or smart host) as dialled and as TLSA records are looked up for it. */
  host: string;
  /** Undefined when DANE was not consulted. */
  tlsa: TlsaFinding | undefined;
  /** Undefined when MTA-STS was not consulted. */
  mtaSts: MtaStsFacts | undefined;
  /** The message carries `TLS-Required: No` (RFC 8689 §5). */
  tlsRequiredNo: boolean;
}

/**
 * What the published sources a delivery asked found for one host, as the transit record
 * keeps it, so that `policy what-if` can fold them under another connector: a source that
 * was not asked is absent.
 */
export interface PublishedFindings {
  tlsa?: TlsaFinding;
  mtaSts?: MtaStsFacts;
}

/** Which source's rule governs a host, for logs and `policy explain`. */
export type DecidingSource = Exclude<PolicySource, 'none'> | 'none';

/**
 * What to do with one MX host:
 * - `skip`: MTA-STS `enforce` does not name it: it is not used at all (RFC 8461 §4.1);
 *   `failure` is `validation-failure`, as TLS-RPT reports such a host (RFC 8460 has no
 *   type of its own for an MX outside the policy);
 * - `defer`: nothing can satisfy the policy (a TLSA lookup failed, `dane-only` without
 *   records): the host is not dialled and its attempt deferred with `text`;
 * - `connect`: dial it and judge the session by `rule`. `dane`: the rule needs a TLSA
 *   match (the outbound side holds the records). `unreported`: what MTA-STS found wrong
 *   without refusing the host — a policy that could not be had, or a `testing` policy
 *   that does not name it — for the transit record of a session that itself failed
 *   nothing (TLS-RPT).
 * A host skipped or deferred is never dialled; its transit record says `policy`, `failure`
 * and `text`. `explanation` says in words why, for the log and `policy explain`.
 */
export type HostPlan =
  | { kind: 'skip'; decidedBy: 'mta-sts'; code: typeof POLICY_DEFERRAL_CODE; text: string; failure: 'validation-failure'; policy: AppliedPolicy; explanation: string }
  | { kind: 'defer'; decidedBy: DecidingSource; code: typeof POLICY_DEFERRAL_CODE; text: string; failure: DaneFailure; policy: AppliedPolicy; explanation: string }
  | { kind: 'connect'; decidedBy: DecidingSource; rule: TlsRule; dane: boolean; unreported?: UnreportedFailure; explanation: string };

const published = (state: MtaStsFacts | undefined): state is Extract<MtaStsFacts, { kind: 'policy' }> => state?.kind === 'policy' && state.policy.mode !== 'none';

/** The policy as the transit record and TLS-RPT name it (RFC 8460 policy-string and mx-host). */
export function stsPolicy(state: Extract<MtaStsFacts, { kind: 'policy' }>): AppliedPolicy {
  const mode = state.policy.mode === 'enforce' ? 'enforce' : 'testing';
  return { source: 'mta-sts', mode, id: state.id, mx: state.policy.mx, policyText: policyLines(state.text) };
}

/** A TLSA lookup that failed: DANE's policy with no records known (TLS-RPT's tlsa policy, dnssec-invalid). */
const LOOKUP_FAILED: AppliedPolicy = { source: 'dane', tlsa: [] };

const daneRule = (usable: string[]): TlsRule => ({ tls: 'dane-only', plaintextFallback: false, policy: { source: 'dane', tlsa: usable } });

function deferHost(host: string, failure: DaneFailure, why: string, policy: AppliedPolicy, explanation: string): HostPlan {
  return { kind: 'defer', decidedBy: policy.source === 'dane' ? 'dane' : 'connector', code: POLICY_DEFERRAL_CODE, text: `4.7.5 ${why} for host ${host}`, failure, policy, explanation };
}

/** `dane-only`: DANE or nothing. */
function daneOnly(facts: PublishedFacts, tlsa: TlsaFinding): HostPlan {
  const { host } = facts;
  const connector: AppliedPolicy = { source: 'connector', level: 'dane-only' };
  switch (tlsa.kind) {
    case 'usable':
      return { kind: 'connect', decidedBy: 'dane', rule: daneRule(tlsa.usable), dane: true, explanation: `DANE: ${tlsa.usable.length} usable TLSA record(s) at ${tlsa.owner}; the certificate must match one` };
    case 'unusable':
      return deferHost(host, 'dane-required', 'No usable TLSA records (dane-only)', { source: 'dane', tlsa: tlsa.unusable }, `dane-only: TLSA records at ${tlsa.owner}, but none of a usage SMTP can use (${tlsa.unusable.join(', ')}): deferred`);
    case 'none':
      return deferHost(host, 'dane-required', 'No TLSA records, and DANE is required (dane-only)', connector, 'dane-only: the host publishes no TLSA records (validated denial): deferred');
    case 'insecure':
      return deferHost(host, 'dane-required', 'No DNSSEC-validated TLSA records, and DANE is required (dane-only)', connector, `dane-only: ${tlsa.reason}: deferred`);
    case 'failed':
      return deferHost(host, 'dnssec-invalid', `TLSA lookup error: ${tlsa.error}`, LOOKUP_FAILED, `the TLSA lookup of ${tlsa.owner} failed (${tlsa.error}): deferred, never downgraded`);
  }
}

/** What the connector's level does without a published policy; `note` says why none applies. */
function levelPlan(connector: PublishedConnector, level: TlsLevel, note: string, unreported?: StsFailureType): HostPlan {
  const rule = connectorRule({ tls: level, plaintextFallback: connector.plaintextFallback });
  const decidedBy: DecidingSource = rule.policy.source === 'connector' ? 'connector' : 'none';
  return { kind: 'connect', decidedBy, rule, dane: false, ...(unreported ? { unreported } : {}), explanation: note };
}

/** MTA-STS over `level` (opportunistic, encrypt, or what `dane` is without TLSA records). */
function withMtaSts(facts: PublishedFacts, level: TlsLevel, prefix: string): HostPlan {
  const { connector, host, mtaSts } = facts;
  if (mtaSts === undefined) return levelPlan(connector, level, `${prefix}the connector's level ${level}`);
  switch (mtaSts.kind) {
    case 'none':
      return levelPlan(connector, level, `${prefix}no MTA-STS policy (${mtaSts.reason}): the connector's level ${level}`);
    case 'unavailable':
      return levelPlan(connector, level, `${prefix}MTA-STS policy not available (${mtaSts.failure.reason}): as without a policy, level ${level}`, mtaSts.failure.resultType);
    case 'policy':
      break;
  }
  const { policy } = mtaSts;
  if (policy.mode === 'none') return levelPlan(connector, level, `${prefix}MTA-STS mode none (id ${mtaSts.id}): the connector's level ${level}`);
  const applied = stsPolicy(mtaSts);
  const listed = policy.mx.some((pattern) => mxPatternMatches(host, pattern));
  const patterns = policy.mx.join(', ');
  if (policy.mode === 'enforce') {
    if (!listed) {
      const text = `4.7.5 MX host ${host} matches none of the MTA-STS policy's mx patterns (${patterns}): not used`;
      return { kind: 'skip', decidedBy: 'mta-sts', code: POLICY_DEFERRAL_CODE, text, failure: 'validation-failure', policy: applied, explanation: `${prefix}MTA-STS enforce (id ${mtaSts.id}): ${host} matches none of ${patterns}: not used` };
    }
    const rule: TlsRule = { tls: 'verify', plaintextFallback: false, policy: applied };
    return { kind: 'connect', decidedBy: 'mta-sts', rule, dane: false, explanation: `${prefix}MTA-STS enforce (id ${mtaSts.id}, mx ${patterns}): TLS with a certificate that chains to the system roots or tls.trust and names ${host}` };
  }
  const base = connectorRule({ tls: level, plaintextFallback: connector.plaintextFallback });
  const rule: TlsRule = { ...base, testing: { tls: 'verify', policy: applied } };
  const unlisted = listed ? '' : `; ${host} matches none of ${patterns}, which enforce would refuse`;
  const explanation = `${prefix}MTA-STS testing (id ${mtaSts.id}): delivered as level ${level}, what enforce would refuse is logged and recorded${unlisted}`;
  // what enforce would skip is recorded as TLS-RPT reports a skipped host, unless the session fails something itself
  return { kind: 'connect', decidedBy: 'mta-sts', rule, dane: false, ...(listed ? {} : { unreported: 'validation-failure' as const }), explanation };
}

/** `dane`: DANE where the host publishes usable secure TLSA records, else MTA-STS, else opportunistic. */
function dane(facts: PublishedFacts, tlsa: TlsaFinding): HostPlan {
  switch (tlsa.kind) {
    case 'usable':
      return { kind: 'connect', decidedBy: 'dane', rule: daneRule(tlsa.usable), dane: true, explanation: `DANE: ${tlsa.usable.length} usable TLSA record(s) at ${tlsa.owner}; the certificate must match one` };
    case 'unusable': {
      const unusable = `DANE: TLSA records at ${tlsa.owner}, none of a usage SMTP can use (${tlsa.unusable.join(', ')}): TLS required, not authenticated`;
      // no usable TLSA records: MTA-STS may still authenticate the host, and raises, never lowers
      if (published(facts.mtaSts)) return withMtaSts(facts, 'encrypt', `${unusable}; `);
      // RFC 7672 §2.2: TLS is required, but the records cannot authenticate anyone
      const rule: TlsRule = { tls: 'encrypt', plaintextFallback: false, policy: { source: 'dane', tlsa: tlsa.unusable } };
      return { kind: 'connect', decidedBy: 'dane', rule, dane: false, explanation: unusable };
    }
    case 'failed':
      return deferHost(facts.host, 'dnssec-invalid', `TLSA lookup error: ${tlsa.error}`, LOOKUP_FAILED, `the TLSA lookup of ${tlsa.owner} failed (${tlsa.error}): deferred, never downgraded`);
    case 'none':
      return withMtaSts(facts, 'opportunistic', 'no TLSA records (validated denial); ');
    case 'insecure':
      return withMtaSts(facts, 'opportunistic', `no DANE (${tlsa.reason}); `);
  }
}

/** The plan for one MX host: ARCHITECTURE.md's "Published policies" table, row by row. */
export function planHost(facts: PublishedFacts): HostPlan {
  const { connector, mtaSts, tlsa } = facts;
  const waived = facts.tlsRequiredNo ? 'TLS-Required: No: published policies not applied to this message; ' : '';
  switch (connector.tls) {
    case 'none': {
      const overridden = published(mtaSts) ? `published policy overridden by the operator (MTA-STS ${mtaSts.policy.mode}, id ${mtaSts.id}); ` : '';
      return levelPlan(connector, 'none', `${overridden}${waived}the connector's level none: no TLS`);
    }
    case 'verify-ca':
    case 'verify':
    case 'fingerprint':
      return levelPlan(connector, connector.tls, `the connector's own rule (${connector.tls}); published policies are not consulted`);
    case 'dane-only':
      return tlsa === undefined ? levelPlan(connector, 'dane-only', 'dane-only without a TLSA lookup') : daneOnly(facts, tlsa);
    case 'dane':
      return tlsa === undefined ? withMtaSts(facts, 'opportunistic', waived) : dane(facts, tlsa);
    case 'opportunistic':
    case 'encrypt':
      return withMtaSts(facts, connector.tls, waived);
  }
}

/** What was looked up about a host and its domain: each only when a connector consulted it (a probe asks both). */
export interface PublishedLookups {
  tlsa: TlsaFinding | undefined;
  mtaSts: MtaStsState | undefined;
}

/**
 * The plan for one host under `connector` from what was looked up, each source counted
 * only where the connector consults it: what delivery plans for its own connector, and
 * what `tls probe` plans for the same host under each level.
 */
export function planWithLookups(connector: PublishedConnector, host: string, found: PublishedLookups, tlsRequiredNo: boolean): HostPlan {
  const consulted = consultedSources(connector, tlsRequiredNo);
  return planHost({ connector, host, tlsa: consulted.dane ? found.tlsa : undefined, mtaSts: consulted.mtaSts ? found.mtaSts : undefined, tlsRequiredNo });
}

/** Every host skipped by MTA-STS enforce: nothing may carry the mail (RFC 8461 §4.1), so it waits for the policy or the MX to change. */
export function noListedMxText(domain: string, policy: AppliedPolicy): string {
  const patterns = policy.source === 'mta-sts' ? ` (${policy.mx.join(', ')})` : '';
  return `4.7.5 None of the MX hosts of ${domain} matches its MTA-STS policy${patterns}`;
}
