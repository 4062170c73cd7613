import type { TlsLevel } from '../config/types.js';
import type { MtaStsMode } from './mtaSts.js';

/**
 * The policy that governed one delivery session, as the transit record keeps it:
 * - `none`: nothing asked anything of TLS — a connector at `none` or `opportunistic`,
 *   and no published policy applied (TLS-RPT's `no-policy-found`);
 * - `connector`: the operator's connector demanded TLS at this level;
 * - `dane`: the MX host's secure TLSA records, in presentation form (TLS-RPT's `tlsa`);
 * - `mta-sts`: the recipient domain's MTA-STS policy with its mode and the id of its TXT record (TLS-RPT's `sts`);
 *   `mx` its mx patterns and `policyText` its lines, TLS-RPT's mx-host and policy-string
 *   (absent in records written before they were kept).
 */
export type AppliedPolicy =
  | { source: 'none' }
  | { source: 'connector'; level: TlsLevel }
  | { source: 'dane'; tlsa: string[] }
  /** `mx`: the policy's patterns, `policyText`: its lines — TLS-RPT's mx-host and policy-string (RFC 8460 §4.4). */
  | { source: 'mta-sts'; mode: Exclude<MtaStsMode, 'none'>; id: string; mx: string[]; policyText: string[] };

export type PolicySource = AppliedPolicy['source'];

/** Every source once (a Record, so that a new source cannot be left out), in the order a report lists them. */
const SOURCES: Record<PolicySource, true> = { none: true, connector: true, dane: true, 'mta-sts': true };
export const POLICY_SOURCES = Object.keys(SOURCES) as PolicySource[];

/** The policy of a session that only its connector's level governs. */
export function connectorPolicy(level: TlsLevel): AppliedPolicy {
  // `dane` demands nothing of a host that publishes nothing: it is opportunistic there
  return level === 'none' || level === 'opportunistic' || level === 'dane' ? { source: 'none' } : { source: 'connector', level };
}
