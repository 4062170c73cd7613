import type { X509Certificate } from 'node:crypto';
import { certIdFor } from './certId.js';
import { ocspLibrary } from './ocspLibrary.js';

/**
 * The DER OCSPRequest (RFC 6960 4.1.1) for one certificate, with a SHA-1 CertID and no
 * nonce: responders and their caches commonly ignore nonces (RFC 5019 pre-produces responses),
 * and freshness is judged by thisUpdate and nextUpdate instead.
 */
export function ocspRequestFor(certificate: X509Certificate, issuer: X509Certificate): Buffer {
  const { ocsp, schema } = ocspLibrary();
  const request = new ocsp.OCSPRequest({
    tbsRequest: new ocsp.TBSRequest({ requestList: [new ocsp.Request({ reqCert: certIdFor(certificate, issuer)! })] }),
  });
  return Buffer.from(schema.AsnConvert.serialize(request));
}
