import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { Config } from '../config/types.js';
import type { TrustAnchor } from './chainToAnchor.js';
import { readTrustFiles } from './material.js';

/** The anchors certificates' chains may end at here: Node's root store, then tls.trust. Throws TlsFileError for a tls.trust file that holds no certificate. */
export function trustAnchorsOf(config: Config): TrustAnchor[] {
  return [
    ...rootCertificates.map((pem): TrustAnchor => ({ certificate: new X509Certificate(pem), from: 'system' })),
    ...readTrustFiles(config).map(({ certificate, file }): TrustAnchor => ({ certificate, from: { file } })),
  ];
}
