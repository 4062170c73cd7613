// What a recipient domain publishes with MTA-STS (RFC 8461), as plain facts for the
// published-policy fold. The source that finds them (DNS, HTTPS, its cache) lives in
// outbound/mtaSts/; these types and the MX pattern rule live here so that the fold, which
// may not import outbound/, can read them.

export const MTA_STS_MODES = ['enforce', 'testing', 'none'] as const;
export type MtaStsMode = (typeof MTA_STS_MODES)[number];

/** A policy as RFC 8461 §3.2 defines it. */
export interface MtaStsPolicy {
  mode: MtaStsMode;
  /** Lower case, no trailing dot: `mail.example.net` or `*.example.net`. Empty only under mode `none`. */
  mx: string[];
  /** Seconds, clamped to one year (RFC 8461 §3.2). */
  maxAge: number;
}

/** RFC 8460 §4.3.2 result types for a policy that could not be had. */
export type StsFailureType = 'sts-policy-fetch-error' | 'sts-policy-invalid' | 'sts-webpki-invalid';

export interface MtaStsFailure {
  resultType: StsFailureType;
  reason: string;
}

/** Where the policy in hand came from: fetched for this lookup, or kept from an earlier fetch (memory or the durable cache). */
export type MtaStsOrigin = 'fetched' | 'cache';

/**
 * One domain's MTA-STS state for one delivery.
 * - `none`: the domain publishes no usable `_mta-sts` record and nothing unexpired is
 *   cached; `reason` says which (for logs and `policy explain`).
 * - `policy`: the policy to apply. `text` is the policy as served (TLS-RPT's
 *   policy-string); `refreshFailure` is set when a fetch that was due failed and the
 *   unexpired cached policy is applied instead (RFC 8461 §5.1).
 * - `unavailable`: a `v=STSv1` record, but no policy could be had and none is cached:
 *   deliver as without MTA-STS, and keep the failure for TLS-RPT (RFC 8461 §3.3).
 */
export type MtaStsState =
  | { kind: 'none'; reason: string }
  | {
      kind: 'policy';
      policy: MtaStsPolicy;
      text: string;
      id: string;
      fetchedAt: Date;
      expiresAt: Date;
      origin: MtaStsOrigin;
      refreshFailure?: MtaStsFailure;
    }
  | { kind: 'unavailable'; failure: MtaStsFailure };

/**
 * What the published-policy fold reads of an MTA-STS state: its kind, the policy's mode and
 * mx patterns, its id and RFC 8461's own lines of it. The transit record keeps this of each
 * delivery that asked, so that `policy what-if` folds a recorded state as delivery did.
 */
export type MtaStsFacts =
  | Extract<MtaStsState, { kind: 'none' | 'unavailable' }>
  | { kind: 'policy'; policy: Pick<MtaStsPolicy, 'mode' | 'mx'>; id: string; text: string };

/** The lines of RFC 8461 §3.2's keys. */
const STS_KEYS = /^(version|mode|mx|max_age)\s*:/;

/**
 * RFC 8461's own lines of a policy, trimmed: a policy may be 64 KiB of extension lines,
 * and these lines go into every transit record, session key and testing-mode warning of
 * the domain.
 */
export function policyLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => STS_KEYS.test(line));
}

/** The facts of a state as the transit record keeps them: no dates, the policy's own lines only. */
export function mtaStsFacts(state: MtaStsState): MtaStsFacts {
  if (state.kind !== 'policy') return state;
  return { kind: 'policy', policy: { mode: state.policy.mode, mx: state.policy.mx }, id: state.id, text: policyLines(state.text).join('\n') };
}

/** A host name compared case-free and without its trailing dot, as DNS names are. */
const canonical = (name: string): string => name.replace(/\.$/, '').replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Whether MX host `host` matches a policy's `mx` pattern (RFC 8461 §4.1): a literal name,
 * or `*.example.net`, which covers exactly one left-most label — `mail.example.net`, but
 * neither `example.net` nor `a.mail.example.net`.
 */
export function mxPatternMatches(host: string, pattern: string): boolean {
  const name = canonical(host);
  const wanted = canonical(pattern);
  if (!wanted.startsWith('*.')) return name === wanted;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot) === wanted.slice(1);
}
