// The SubjectPublicKeyInfo of a certificate, byte for byte as it is in the DER. A
// re-encoded key (KeyObject.export) may differ — an EC point stored compressed comes
// back uncompressed — and TLSA selector 1 digests the bytes as published (RFC 6698 2.1.2).

interface Element {
  tag: number;
  /** Offset of the first byte of the element (its tag) and of its contents. */
  start: number;
  contents: number;
  end: number;
}

function readElement(der: Buffer, start: number, limit: number): Element {
  if (start + 2 > limit) throw new Error('truncated DER');
  const tag = der[start]!;
  let length = der[start + 1]!;
  let contents = start + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || contents + octets > limit) throw new Error('unsupported DER length');
    length = 0;
    for (let index = 0; index < octets; index++) length = length * 256 + der[contents + index]!;
    contents += octets;
  }
  const end = contents + length;
  if (end > limit) throw new Error('truncated DER');
  return { tag, start, contents, end };
}

const SEQUENCE = 0x30;
/** The explicit [0] version field that v2 and v3 certificates start their TBSCertificate with. */
const VERSION = 0xa0;

/** Certificate → TBSCertificate → (version) serial, signature, issuer, validity, subject, subjectPublicKeyInfo (RFC 5280 4.1). */
export function subjectPublicKeyInfo(certificateDer: Buffer): Buffer {
  const certificate = readElement(certificateDer, 0, certificateDer.length);
  const tbs = readElement(certificateDer, certificate.contents, certificate.end);
  if (certificate.tag !== SEQUENCE || tbs.tag !== SEQUENCE) throw new Error('not a certificate');
  let field = readElement(certificateDer, tbs.contents, tbs.end);
  if (field.tag === VERSION) field = readElement(certificateDer, field.end, tbs.end);
  // serial, signature, issuer, validity, subject: five fields before the key
  for (let skipped = 0; skipped < 5; skipped++) field = readElement(certificateDer, field.end, tbs.end);
  if (field.tag !== SEQUENCE) throw new Error('not a certificate');
  return certificateDer.subarray(field.start, field.end);
}
