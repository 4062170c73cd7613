import { createHash, type X509Certificate } from 'node:crypto';
import type { CertID } from '@peculiar/asn1-ocsp';
import { ocspLibrary, ownBytes } from './ocspLibrary.js';

// The CertID (RFC 6960 4.1.1) that names a certificate to its issuer's responder: hashes
// of the issuer's name and key, and the serial number.

/** Hash algorithms a CertID may use here; requests use SHA-1, which responders expect (RFC 5019 2.1.1). */
const CERT_ID_HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const SHA1 = '1.3.14.3.2.26';

/** The CertID of `certificate` under the hash `hashOid`; undefined for a hash not supported here. */
export function certIdFor(certificate: X509Certificate, issuer: X509Certificate, hashOid = SHA1): CertID | undefined {
  const hash = CERT_ID_HASHES[hashOid];
  if (hash === undefined) return undefined;
  const { ocsp, schema, x509 } = ocspLibrary();
  const leaf = schema.AsnConvert.parse(ownBytes(certificate.raw), x509.Certificate).tbsCertificate;
  const issuerKey = schema.AsnConvert.parse(ownBytes(issuer.raw), x509.Certificate).tbsCertificate.subjectPublicKeyInfo;
  const digest = (bytes: ArrayBuffer): Buffer => createHash(hash).update(Buffer.from(bytes)).digest();
  return new ocsp.CertID({
    // parameters NULL, as OpenSSL and the RFC 6960 examples write it
    hashAlgorithm: new x509.AlgorithmIdentifier({ algorithm: hashOid, parameters: null }),
    // "the DER encoding of the issuer's name field in the certificate being checked"
    issuerNameHash: new schema.OctetString(digest(schema.AsnConvert.serialize(leaf.issuer))),
    // over the subjectPublicKey BIT STRING's contents, without tag, length and unused-bits octet
    issuerKeyHash: new schema.OctetString(digest(issuerKey.subjectPublicKey)),
    serialNumber: leaf.serialNumber,
  });
}

/** Whether two CertIDs name the same certificate. */
export function sameCertId(a: CertID, b: CertID): boolean {
  const equal = (x: ArrayBuffer, y: ArrayBuffer): boolean => Buffer.from(x).equals(Buffer.from(y));
  return (
    a.hashAlgorithm.algorithm === b.hashAlgorithm.algorithm &&
    equal(a.issuerNameHash.buffer, b.issuerNameHash.buffer) &&
    equal(a.issuerKeyHash.buffer, b.issuerKeyHash.buffer) &&
    equal(a.serialNumber, b.serialNumber)
  );
}
