import type { X509Certificate } from 'node:crypto';
import { certificatesIn, type ServedCertificate } from '../material.js';

/**
 * The certificate that issued ours, from the chain after it in its file: an OCSP request
 * names the issuer's name and key, and its response is signed by the issuer or a responder
 * it authorised. Undefined when the file holds no such certificate.
 */
export function servedIssuer(served: ServedCertificate): X509Certificate | undefined {
  const chain = certificatesIn(served.cert, served.files.cert).slice(1);
  return chain.map(({ certificate }) => certificate).find((candidate) => served.leaf.checkIssued(candidate) && served.leaf.verify(candidate.publicKey));
}
