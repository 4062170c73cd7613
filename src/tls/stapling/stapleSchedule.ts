import { MAX_TIMER_MS } from '../../config/values.js';
import type { OcspAnswer } from '../ocsp/ocspAnswer.js';
import { OCSP_DEFAULT_LIFETIME_MS } from '../ocsp/ocspCache.js';

// When a staple is served, refreshed and retried: pure, so that the rules are a table.

/** An OCSP response the listeners may staple: a signed `good` answer for the served certificate. */
export interface Staple {
  der: Buffer;
  /** Its nextUpdate; an hour after thisUpdate when it names none (the responder promised nothing). */
  until: Date;
}

/**
 * A refresh never comes sooner than this: a responder that serves one pre-produced
 * response (RFC 5019) until just before its nextUpdate would otherwise be asked ever more often.
 */
export const MIN_REFRESH_MS = 60_000;
/** The first retry after a failed fetch; each further one waits twice as long, up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 60_000;
export const RETRY_MAX_MS = 60 * 60_000;

/** The staple an answer makes, or why it makes none: only `good` is stapled (a revoked staple would only make clients hang up). */
export function stapleOf(der: Buffer, answer: OcspAnswer): Staple | string {
  switch (answer.kind) {
    case 'good':
      return { der, until: answer.nextUpdate ?? new Date(answer.thisUpdate.getTime() + OCSP_DEFAULT_LIFETIME_MS) };
    case 'revoked':
      return `the responder says the certificate was revoked at ${answer.revokedAt.toISOString()}${answer.reason === undefined ? '' : ` (${answer.reason})`}`;
    case 'unknown':
      return 'the responder does not know the certificate';
    case 'invalid':
      return `invalid OCSP response: ${answer.reason}`;
  }
}

/** Served only before its nextUpdate: a client that checks would refuse an expired one. */
export const servable = (staple: Staple, now: Date): boolean => now < staple.until;

/** From `now` (when it was fetched or read back), half the time left to its nextUpdate, at least MIN_REFRESH_MS. */
export function refreshDelay(staple: Staple, now: Date): number {
  return Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_MS, (staple.until.getTime() - now.getTime()) / 2));
}

/** After the `failures`-th failed fetch in a row (1 for the first). */
export function retryDelay(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, failures - 1));
}
