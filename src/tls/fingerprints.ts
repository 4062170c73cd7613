import { createHash, X509Certificate } from 'node:crypto';

/** Lower-case hex SHA-256 digests of a certificate (DER) and of its public key. */
export interface CertificateFingerprints {
  certificate: string;
  /**
   * Of the SubjectPublicKeyInfo as Node exports it: what an outbound `fingerprint`
   * connector compares, so the pin `cert info` prints is the pin a tlsrelay partner matches.
   */
  publicKey: string;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** SHA-256 of the certificate and of its SubjectPublicKeyInfo. */
export function certificateFingerprints(der: Buffer): CertificateFingerprints {
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return { certificate: sha256(der), publicKey: sha256(spki) };
}
