import type { X509Certificate } from 'node:crypto';
import type { SignedOcspAnswer } from './ocspAnswer.js';

/** How long an answer without nextUpdate is kept: the responder promised nothing, so not long. */
export const OCSP_DEFAULT_LIFETIME_MS = 60 * 60_000;
/** Partners are few; the bound only keeps a flood of distinct certificates from growing memory. */
const MAX_ENTRIES = 10_000;

interface Entry {
  answer: SignedOcspAnswer;
  until: number;
}

/**
 * Signed OCSP answers per issuer and serial, kept until their nextUpdate (an hour when
 * they name none) and never served after it.
 */
export class OcspCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly defaultLifetimeMs = OCSP_DEFAULT_LIFETIME_MS) {}

  get(certificate: X509Certificate, issuer: X509Certificate, now: Date): SignedOcspAnswer | undefined {
    const key = keyOf(certificate, issuer);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (now.getTime() >= entry.until) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  put(certificate: X509Certificate, issuer: X509Certificate, answer: SignedOcspAnswer, now: Date): void {
    const until = answer.nextUpdate?.getTime() ?? now.getTime() + this.defaultLifetimeMs;
    const key = keyOf(certificate, issuer);
    this.entries.delete(key);
    if (until <= now.getTime()) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { answer, until });
  }
}

/** The issuer by its certificate's fingerprint: two CAs may share a name, never a certificate. */
const keyOf = (certificate: X509Certificate, issuer: X509Certificate): string => `${issuer.fingerprint256}/${certificate.serialNumber}`;
