import type { AppliedPolicy } from '../policy/appliedPolicy.js';
import type { ObservedTls } from '../policy/observedTls.js';
import type { PublishedFindings } from '../policy/publishedPolicy.js';
import { TLS_RESULT_TYPES, type TlsResultType } from '../policy/resultTypes.js';
import type { AttemptOutcome, CertVerdict, RequireTlsAttempt, TlsFacts } from '../queue/types.js';

// One line of the transit record: a delivery session — one connection to one address of a
// next hop that answered, carrying one or more messages (or refusing to) — with the policy
// that governed it, what its TLS showed and what came of it. A next hop that a published
// policy deferred or skipped before dialling gets a line too (`ip` null): the failure it
// stands for (`dnssec-invalid`, `dane-required`, an MX outside an MTA-STS policy) is one
// TLS-RPT reports and `report tls` shows. `report tls` and TLS-RPT are counts over these
// lines; nothing else keeps a copy.

/** Bumped when a field changes meaning; a reader skips lines of a format it does not know. */
export const RECORD_FORMAT = 1;

/** How the connector reached the next hop: by the domain's MX, or to its smart hosts. */
export type RouteKind = 'mx' | 'smart-host';

export interface TransitRecord {
  v: typeof RECORD_FORMAT;
  /** ISO time the session began (the connection was dialled, or a parked one taken up). */
  at: string;
  /** The recipient domain, normalised. */
  domain: string;
  connector: string;
  /** The next hop as dialled: the MX or smart-host name, or an IP address. */
  host: string;
  /**
   * The address dialled; null: the host was never dialled — the published-policy plan
   * deferred or skipped it before any address was tried (then `tls` is null, `verdict`
   * `none`, `sourceIp` absent, `delivered` 0, and `failure` says why).
   */
  ip: string | null;
  /** The port dialled, or the one that would have been (the port of the TLSA lookup). */
  port: number;
  /** The relay's own address in the session (RFC 8460's sending-mta-ip); absent in records written before it was kept. */
  sourceIp?: string;
  /** The session was parked by an earlier delivery and carried this one too. */
  reused: boolean;
  /** Absent in records written before `policy what-if` replayed them, as are `observed` and `published`. */
  route?: RouteKind;
  policy: AppliedPolicy;
  /**
   * What the session showed of the next hop's TLS before the connector's names and pins
   * were applied: whether STARTTLS was offered, the handshake, the chain, the certificate's
   * names and digests, the DANE match — so that it can be judged again under another
   * connector. For the plaintext retry of an opportunistic fallback (`fallback`), what the
   * TLS attempt before it showed. Absent for a host not dialled.
   */
  observed?: ObservedTls;
  /** The session was the plaintext retry after opportunistic TLS broke the one before it. */
  fallback?: true;
  /** What the published sources the delivery asked (TLSA, MTA-STS) found for this host; a source not asked is absent. */
  published?: PublishedFindings;
  /** Null: the session ran in plaintext. */
  tls: TlsFacts | null;
  verdict: CertVerdict;
  /** What fell short of the policy, as RFC 8460 words it; null when nothing did. */
  failure: TlsResultType | null;
  /** `delivered` when every message was; otherwise the first that was not (deferred before bounced). */
  outcome: AttemptOutcome;
  /** The reply or reason behind `outcome`. */
  reply: string;
  /** Messages the session was to carry, and how many of them it delivered. */
  messages: number;
  delivered: number;
  /** Of `messages`, those that were the relay's own TLS reports (RFC 8460 §5.3: never counted in a report); absent: none. */
  tlsReports?: number;
  /**
   * Whether REQUIRETLS applied: null when no message of the session asked for it; else what
   * the session was for them — `met` (sent with REQUIRETLS), why they were skipped, or
   * `no-session` (the policy ended the session first). Absent in records written before
   * the relay honoured REQUIRETLS.
   */
  requireTls?: RequireTlsAttempt | null;
  /**
   * The session's messages carried `TLS-Required: No` (RFC 8689 §4.3): the recipient
   * domain's published policies (DANE, MTA-STS) were waived for them; the connector's own
   * level, `dane-only`'s DANE included, still applied. Absent otherwise.
   */
  tlsRequiredNo?: true;
}

/** Anything that keeps records; delivery hands them over and never waits. */
export interface TransitSink {
  add(record: TransitRecord): void;
}

export function encodeRecord(record: TransitRecord): string {
  return `${JSON.stringify(record)}\n`;
}

const RESULT_TYPES: ReadonlySet<string> = new Set(TLS_RESULT_TYPES);

const isString = (value: unknown): value is string => typeof value === 'string';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * The record on one line, or undefined for a line that is not one: torn by a crash in
 * the middle of a write, or of a format this reader does not know. The checks are those
 * the report relies on; they are cheap because a report reads every line of its period.
 */
export function decodeRecord(line: string): TransitRecord | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || value.v !== RECORD_FORMAT) return undefined;
  if (!isString(value.at) || !isString(value.domain) || !isString(value.verdict) || !isString(value.outcome)) return undefined;
  if (!isCount(value.messages) || !isCount(value.delivered)) return undefined;
  if (value.ip !== null && !isString(value.ip)) return undefined;
  const policy = value.policy as { source?: unknown } | null;
  if (typeof policy !== 'object' || policy === null || !isString(policy.source)) return undefined;
  const tls = value.tls as { protocol?: unknown } | null;
  if (tls !== null && (typeof tls !== 'object' || !isString(tls.protocol))) return undefined;
  if (value.failure !== null && !RESULT_TYPES.has(value.failure as string)) return undefined;
  // the facts a replay reads: present or absent, never anything else
  if (value.observed !== undefined && !(isObject(value.observed) && isString(value.observed.kind))) return undefined;
  if (value.published !== undefined && !isObject(value.published)) return undefined;
  return value as unknown as TransitRecord;
}
