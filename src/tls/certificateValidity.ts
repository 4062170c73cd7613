import type { X509Certificate } from 'node:crypto';

export type Validity = { kind: 'valid' } | { kind: 'expired'; notAfter: Date } | { kind: 'not-yet-valid'; notBefore: Date };

/** Where a certificate stands at `now`: in its validity period or outside it (its end nearing is expirySchedule.ts's). */
export function validityAt(certificate: X509Certificate, now: Date): Validity {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now < notBefore) return { kind: 'not-yet-valid', notBefore };
  if (now > notAfter) return { kind: 'expired', notAfter };
  return { kind: 'valid' };
}
