import type { X509Certificate } from 'node:crypto';
import type { OcspAnswer } from './ocspAnswer.js';
import type { OcspCache } from './ocspCache.js';
import type { OcspFetch } from './ocspFetch.js';
import { ocspRequestFor } from './ocspRequest.js';
import { readOcspResponse } from './ocspResponse.js';

/** `tls.ocsp` when it is on; `off` never gets here. */
export type OcspMode = 'soft' | 'hard';

/** What revocation checking learnt: an answer, or that no responder could be asked. */
export type OcspOutcome = OcspAnswer | { kind: 'unreachable'; reason: string };

export type OcspDecision =
  | { kind: 'accept'; note: string }
  /** Revoked: no retry will help. */
  | { kind: 'refuse'; reason: string }
  /** `hard` without a usable answer: try again later (inbound 4.7.x, outbound deferral 4.7.5). */
  | { kind: 'temporary'; reason: string };

/**
 * As Postfix and Exchange operators expect of soft-fail revocation checks: revoked is
 * refused in both modes; anything short of a signed good or revoked — unknown, an invalid
 * response, no responder reachable — is accepted with a note under `soft` and temporary
 * under `hard`. An invalid signature is not taken for proof of revocation: it proves
 * nothing, as an unreachable responder proves nothing.
 */
export function decideOcsp(mode: OcspMode, outcome: OcspOutcome): OcspDecision {
  switch (outcome.kind) {
    case 'good':
      return { kind: 'accept', note: 'OCSP: good' };
    case 'revoked': {
      const why = outcome.reason === undefined ? '' : ` (${outcome.reason})`;
      return { kind: 'refuse', reason: `certificate revoked at ${outcome.revokedAt.toISOString()}${why} (OCSP)` };
    }
    case 'unknown':
      return inconclusive(mode, 'the OCSP responder does not know the certificate');
    case 'invalid':
      return inconclusive(mode, `invalid OCSP response: ${outcome.reason}`);
    case 'unreachable':
      return inconclusive(mode, `OCSP responder unreachable: ${outcome.reason}`);
  }
}

function inconclusive(mode: OcspMode, reason: string): OcspDecision {
  return mode === 'hard' ? { kind: 'temporary', reason } : { kind: 'accept', note: `${reason}; accepted (tls.ocsp: soft)` };
}

export interface OcspCheck {
  certificate: X509Certificate;
  issuer: X509Certificate;
  /** The OCSP response the peer stapled in its handshake, if any. */
  stapled?: Buffer;
  mode: OcspMode;
  cache: OcspCache;
  fetch: OcspFetch;
  now: Date;
  /** For one responder; 10 s when absent. */
  timeoutMs?: number;
}

/** Where the answer came from, for the log line. */
export type OcspSource = 'stapled' | 'cache' | 'responder' | 'none';

export type OcspResult = OcspDecision & { source: OcspSource };

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Checks one certificate: a stapled response first when it is a valid answer for it,
 * else a cached answer, else the responders its AIA names, in order. Signed answers are
 * cached. A certificate that names no responder and has no usable staple is accepted,
 * in both modes: there is nobody to ask (its CRLs, if configured, still apply).
 */
export async function checkOcsp({ certificate, issuer, stapled, mode, cache, fetch, now, timeoutMs = DEFAULT_TIMEOUT_MS }: OcspCheck): Promise<OcspResult> {
  const staple = stapled === undefined ? undefined : readOcspResponse(stapled, certificate, issuer, now);
  if (staple !== undefined && staple.kind !== 'invalid') {
    cache.put(certificate, issuer, staple, now);
    return { ...decideOcsp(mode, staple), source: 'stapled' };
  }
  const cached = cache.get(certificate, issuer, now);
  if (cached !== undefined) return { ...decideOcsp(mode, cached), source: 'cache' };
  const responders = ocspResponders(certificate);
  if (responders.length === 0) {
    if (staple !== undefined) return { ...decideOcsp(mode, staple), source: 'stapled' };
    return { kind: 'accept', note: 'the certificate names no OCSP responder; not checked', source: 'none' };
  }
  const outcome = await askResponders(responders, ocspRequestFor(certificate, issuer), { certificate, issuer, fetch, now, timeoutMs });
  if (outcome.kind !== 'invalid' && outcome.kind !== 'unreachable') cache.put(certificate, issuer, outcome, now);
  return { ...decideOcsp(mode, outcome), source: 'responder' };
}

/** The first responder's answer; on an unreachable one, the next. */
async function askResponders(
  responders: string[],
  request: Buffer,
  { certificate, issuer, fetch, now, timeoutMs }: Pick<OcspCheck, 'certificate' | 'issuer' | 'fetch' | 'now'> & { timeoutMs: number },
): Promise<OcspOutcome> {
  const failures: string[] = [];
  for (const url of responders) {
    try {
      return readOcspResponse(await fetch(url, request, timeoutMs), certificate, issuer, now);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { kind: 'unreachable', reason: failures.join('; ') };
}

/** The OCSP responder URLs of the certificate's Authority Information Access, in order. */
export function ocspResponders(certificate: X509Certificate): string[] {
  return (certificate.infoAccess ?? '')
    .split('\n')
    .filter((line) => line.startsWith('OCSP - URI:'))
    .map((line) => line.slice('OCSP - URI:'.length).trim())
    // Node quotes a value with characters that could forge another line (CVE-2021-44532)
    .map((value) => (value.startsWith('"') ? (JSON.parse(value) as string) : value));
}
