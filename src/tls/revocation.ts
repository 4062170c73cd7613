import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { issuerAndSerial, signedBy, type RevocationList } from './crl.js';
import { oneLineName } from './distinguishedName.js';

// Revocation as Postfix operators expect it: a configured CRL applies to the
// certificates its issuer signed, and a certificate whose issuer has no CRL here is not
// checked. (Node's `crl` option turns on OpenSSL's CRL_CHECK_ALL for the whole store,
// so one partner's CRL would fail every other chain with UNABLE_TO_GET_CRL.)

export type RevocationCode = 'CERT_REVOKED' | 'CRL_HAS_EXPIRED' | 'CRL_NOT_YET_VALID' | 'CRL_SIGNATURE_FAILURE';

export type RevocationStatus = { kind: 'good' } | { kind: 'failed'; code: RevocationCode; reason: string };

const GOOD: RevocationStatus = { kind: 'good' };

const nameOf = (certificate: X509Certificate): string => oneLineName(certificate.subject);

function failed(code: RevocationCode, reason: string): RevocationStatus {
  return { kind: 'failed', code, reason: `${reason} (${code})` };
}

/** One certificate against the CRLs of its issuer. */
function checkOne(certificate: X509Certificate, issuer: X509Certificate, isLeaf: boolean, crls: readonly RevocationList[], now: Date): RevocationStatus {
  const { issuer: issuerName, serial } = issuerAndSerial(certificate.raw);
  const named = crls.filter((crl) => crl.issuer.equals(issuerName));
  if (named.length === 0) return GOOD;
  const authentic = named.filter((crl) => signedBy(crl, issuer.publicKey));
  if (authentic.length === 0) {
    const sources = [...new Set(named.map((crl) => crl.source))].join(', ');
    return failed('CRL_SIGNATURE_FAILURE', `the CRL for ${nameOf(issuer)} in ${sources} is not signed by that CA`);
  }
  if (authentic.some((crl) => crl.revoked.has(serial))) {
    return failed('CERT_REVOKED', isLeaf ? 'certificate has been revoked' : `the certificate of CA ${nameOf(certificate)} has been revoked`);
  }
  const current = authentic.filter((crl) => crl.thisUpdate <= now && (crl.nextUpdate === undefined || now <= crl.nextUpdate));
  if (current.length > 0) return GOOD;
  // no CRL in force: the certificate may have been revoked since, so it does not pass
  const early = authentic.find((crl) => crl.thisUpdate > now);
  if (early) return failed('CRL_NOT_YET_VALID', `the CRL for ${nameOf(issuer)} in ${early.source} is not valid before ${early.thisUpdate.toISOString()}`);
  const latest = authentic.reduce((a, b) => ((a.nextUpdate?.getTime() ?? 0) >= (b.nextUpdate?.getTime() ?? 0) ? a : b));
  return failed('CRL_HAS_EXPIRED', `the CRL for ${nameOf(issuer)} in ${latest.source} expired ${latest.nextUpdate?.toISOString() ?? ''}`);
}

/**
 * Each certificate of `chain` (leaf first, each followed by its issuer) against the
 * CRLs of its issuer; the first failure, or good. A self-issued anchor at the end has
 * no issuer above it to revoke it.
 */
export function checkRevocation(chain: readonly X509Certificate[], crls: readonly RevocationList[], now: Date): RevocationStatus {
  if (crls.length === 0) return GOOD;
  for (let index = 0; index + 1 < chain.length; index++) {
    const status = checkOne(chain[index]!, chain[index + 1]!, index === 0, crls, now);
    if (status.kind === 'failed') return status;
  }
  return GOOD;
}

/**
 * The peer's chain as Node built it: leaf first, each certificate followed by its issuer,
 * ending at the trust anchor (from the store) when the chain verified. Empty without a certificate.
 */
export function peerChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  // Node links the root to itself; a fingerprint seen twice ends the walk
  while (current && Buffer.isBuffer(current.raw) && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
}
