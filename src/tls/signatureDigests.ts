import { verify, type KeyObject } from 'node:crypto';

// X.509 signatures (CRLs, OCSP responses) checked with node:crypto over the signed bytes
// as they came: node:crypto needs the digest, which the signature algorithm's OID implies.

/** Digest per signature algorithm; null where the algorithm hashes by itself (EdDSA). */
const SIGNATURE_DIGESTS: Record<string, string | null> = {
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519
  '1.3.101.113': null, // Ed448
};

export function signatureAlgorithmSupported(oid: string): boolean {
  return oid in SIGNATURE_DIGESTS;
}

/**
 * Whether `key` made `signature` over `signed` with the algorithm `oid` names. ECDSA
 * signatures in X.509 are DER, node:crypto's default form.
 */
export function signatureVerifies(oid: string, signed: Buffer, key: KeyObject, signature: Buffer): boolean {
  if (!signatureAlgorithmSupported(oid)) return false;
  try {
    return verify(SIGNATURE_DIGESTS[oid] ?? null, signed, key, signature);
  } catch {
    // a key of another type than the signature (an RSA CA, an ECDSA signature) did not make it
    return false;
  }
}
