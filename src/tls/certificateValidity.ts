import type { X509Certificate } from 'node:crypto';

/** Within this many days of its end a certificate is still served, with a warning. */
export const EXPIRY_WARNING_DAYS = 30;

const DAY_MS = 86_400_000;

export type Validity =
  | { kind: 'valid' }
  | { kind: 'expires-soon'; notAfter: Date; daysLeft: number }
  | { kind: 'expired'; notAfter: Date }
  | { kind: 'not-yet-valid'; notBefore: Date };

/** Where a certificate stands at `now`: in its validity period, near its end, or outside it. */
export function validityAt(certificate: X509Certificate, now: Date): Validity {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now < notBefore) return { kind: 'not-yet-valid', notBefore };
  if (now > notAfter) return { kind: 'expired', notAfter };
  const left = notAfter.getTime() - now.getTime();
  return left < EXPIRY_WARNING_DAYS * DAY_MS ? { kind: 'expires-soon', notAfter, daysLeft: Math.floor(left / DAY_MS) } : { kind: 'valid' };
}
