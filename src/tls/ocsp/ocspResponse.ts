import { X509Certificate, type KeyObject } from 'node:crypto';
import type { BasicOCSPResponse, SingleResponse } from '@peculiar/asn1-ocsp';
import { signatureAlgorithmSupported, signatureVerifies } from '../signatureDigests.js';
import { certIdFor, sameCertId } from './certId.js';
import type { OcspAnswer } from './ocspAnswer.js';
import { ocspLibrary, ownBytes } from './ocspLibrary.js';

/** Clock difference between us and the responder that a thisUpdate "in the future" may show. */
export const OCSP_CLOCK_SKEW_MS = 5 * 60_000;

const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

/**
 * What a DER OCSPResponse (RFC 6960 4.2) says about `certificate`: checked that the issuer
 * signed it, or a responder certificate in it that the issuer signed for OCSP signing
 * (4.2.2.2), that it answers for this certificate, and that it is current at `now`.
 */
export function readOcspResponse(der: Buffer, certificate: X509Certificate, issuer: X509Certificate, now: Date): OcspAnswer {
  let basic: BasicOCSPResponse;
  try {
    const read = readBasicResponse(der);
    if (typeof read === 'string') return { kind: 'invalid', reason: read };
    basic = read;
  } catch (err) {
    return { kind: 'invalid', reason: `malformed OCSP response: ${err instanceof Error ? err.message : String(err)}` };
  }
  const unsigned = signatureProblem(basic, issuer, now);
  if (unsigned !== undefined) return { kind: 'invalid', reason: unsigned };
  const single = basic.tbsResponseData.responses.find((response) => {
    const wanted = certIdFor(certificate, issuer, response.certID.hashAlgorithm.algorithm);
    return wanted !== undefined && sameCertId(response.certID, wanted);
  });
  if (single === undefined) return { kind: 'invalid', reason: `the response has no status for serial ${certificate.serialNumber}` };
  return answerOf(single, now);
}

/** The BasicOCSPResponse inside, or why there is none. Throws on DER the schemas refuse. */
function readBasicResponse(der: Buffer): BasicOCSPResponse | string {
  const { ocsp, schema } = ocspLibrary();
  const response = schema.AsnConvert.parse(ownBytes(der), ocsp.OCSPResponse);
  if (response.responseStatus !== ocsp.OCSPResponseStatus.successful) {
    return `the responder answered ${ocsp.OCSPResponseStatus[response.responseStatus] ?? response.responseStatus}`;
  }
  if (response.responseBytes === undefined) return 'a successful response without a body';
  if (response.responseBytes.responseType !== ocsp.id_pkix_ocsp_basic) return `response type ${response.responseBytes.responseType} is not supported`;
  return schema.AsnConvert.parse(response.responseBytes.response.buffer, ocsp.BasicOCSPResponse);
}

/** Undefined when the issuer, or a responder it authorised, signed the response; else why not. */
function signatureProblem(basic: BasicOCSPResponse, issuer: X509Certificate, now: Date): string | undefined {
  const algorithm = basic.signatureAlgorithm.algorithm;
  if (!signatureAlgorithmSupported(algorithm)) return `signature algorithm ${algorithm} is not supported`;
  if (basic.tbsResponseDataRaw === undefined) throw new Error('the signed part of the response was not kept');
  const signed = Buffer.from(basic.tbsResponseDataRaw);
  const signature = Buffer.from(basic.signature);
  const signedWith = (key: KeyObject): boolean => signatureVerifies(algorithm, signed, key, signature);
  if (signedWith(issuer.publicKey)) return undefined;
  const { schema } = ocspLibrary();
  const included = (basic.certs ?? []).map((asn) => new X509Certificate(Buffer.from(schema.AsnConvert.serialize(asn))));
  const signer = included.find((candidate) => signedWith(candidate.publicKey));
  if (signer === undefined) return `the response is signed neither by the issuer (${issuer.subject.replace(/\n/g, ', ')}) nor by a responder certificate it includes`;
  const responder = `the responder certificate ${signer.subject.replace(/\n/g, ', ')}`;
  if (!signer.checkIssued(issuer) || !signer.verify(issuer.publicKey)) return `${responder} that signed the response was not issued by the certificate's issuer (${issuer.subject.replace(/\n/g, ', ')})`;
  // Node's keyUsage is the extended key usage
  if (!(signer.keyUsage ?? []).includes(ID_KP_OCSP_SIGNING)) return `${responder} lacks the extended key usage OCSPSigning`;
  if (now < new Date(signer.validFrom) || now > new Date(signer.validTo)) return `${responder} is not valid at ${now.toISOString()}`;
  return undefined;
}

function answerOf(single: SingleResponse, now: Date): OcspAnswer {
  const { thisUpdate, nextUpdate } = single;
  if (thisUpdate.getTime() > now.getTime() + OCSP_CLOCK_SKEW_MS) return { kind: 'invalid', reason: `thisUpdate ${thisUpdate.toISOString()} is in the future` };
  if (nextUpdate !== undefined && nextUpdate <= now) return { kind: 'invalid', reason: `the response expired at ${nextUpdate.toISOString()} (nextUpdate)` };
  const dates = { thisUpdate, ...(nextUpdate ? { nextUpdate } : {}) };
  // CertStatus is a CHOICE whose good and unknown are both NULL: the property set tells them apart
  const status = single.certStatus;
  if (status.revoked !== undefined) {
    const reason = status.revoked.revocationReason;
    return {
      kind: 'revoked',
      revokedAt: status.revoked.revocationTime,
      ...(reason !== undefined ? { reason: ocspLibrary().x509.CRLReasons[reason.reason] ?? String(reason.reason) } : {}),
      ...dates,
    };
  }
  if (status.good !== undefined) return { kind: 'good', ...dates };
  if (status.unknown !== undefined) return { kind: 'unknown', ...dates };
  return { kind: 'invalid', reason: 'the certificate status is none of good, revoked, unknown' };
}
