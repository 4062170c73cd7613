import { X509Certificate } from 'node:crypto';
import {
  AuthorityInfoAccessExtension,
  CRLDistributionPointsExtension,
  SubjectAlternativeNameExtension,
  X509Certificate as ParsedCertificate,
  type GeneralName,
} from '@peculiar/x509';
import { oneLineName } from './distinguishedName.js';
import { certificateFingerprints, type CertificateFingerprints } from './fingerprints.js';

// What a certificate says about itself, for a person to publish and a partner to
// configure: names, key, dates, fingerprints and where its issuer publishes revocation.
// Node reads the key and dates; @peculiar/x509 the names and extensions Node leaves as text.

export interface PublicKeyFacts {
  /** `RSA`, `RSA-PSS`, `EC`, `Ed25519`, `Ed448`, or Node's own name for another kind. */
  type: string;
  /** Modulus length (RSA) or field size (EC, EdDSA). */
  bits: number | null;
  /** `P-256`, `P-384`, `P-521`, or OpenSSL's name of another curve; null for other key types. */
  curve: string | null;
}

export interface CertificateFacts {
  /** One line, `CN=relay.contoso.test, O=Contoso Ltd`. */
  subject: string;
  issuer: string;
  commonName: string | null;
  organization: string[];
  organizationalUnit: string[];
  /** Subject Alternative Names by kind. */
  dnsNames: string[];
  ipAddresses: string[];
  key: PublicKeyFacts;
  /** WebCrypto's names: `ECDSA with SHA-256`, `RSASSA-PKCS1-v1_5 with SHA-256`, `Ed25519`. */
  signatureAlgorithm: string;
  notBefore: Date;
  notAfter: Date;
  /** Upper-case hex, as `openssl x509 -serial` prints it. */
  serial: string;
  fingerprints: CertificateFingerprints;
  /** From Authority Information Access and CRL Distribution Points: URLs only. */
  ocspResponders: string[];
  caIssuers: string[];
  crlDistributionPoints: string[];
}

/** OpenSSL's curve names as NIST (and RFC 8422) call them. */
const CURVES: Record<string, { name: string; bits: number }> = {
  prime256v1: { name: 'P-256', bits: 256 },
  secp384r1: { name: 'P-384', bits: 384 },
  secp521r1: { name: 'P-521', bits: 521 },
};

const KEY_TYPES: Record<string, { type: string; bits?: number }> = {
  rsa: { type: 'RSA' },
  'rsa-pss': { type: 'RSA-PSS' },
  ec: { type: 'EC' },
  ed25519: { type: 'Ed25519', bits: 256 },
  ed448: { type: 'Ed448', bits: 456 },
};

function keyFacts(certificate: X509Certificate): PublicKeyFacts {
  const { asymmetricKeyType = 'unknown', asymmetricKeyDetails: details = {} } = certificate.publicKey;
  const known = KEY_TYPES[asymmetricKeyType] ?? { type: asymmetricKeyType };
  const curve = details.namedCurve === undefined ? undefined : (CURVES[details.namedCurve] ?? { name: details.namedCurve, bits: undefined });
  return { type: known.type, bits: details.modulusLength ?? curve?.bits ?? known.bits ?? null, curve: curve?.name ?? null };
}

function signatureAlgorithmOf(certificate: ParsedCertificate): string {
  try {
    const { name, hash } = certificate.signatureAlgorithm;
    return hash === undefined ? name : `${name} with ${hash.name}`;
  } catch {
    // the library names only the algorithms WebCrypto has
    return 'not recognised';
  }
}

const urlsOf = (names: readonly GeneralName[]): string[] => names.filter((name) => name.type === 'url').map((name) => name.value);

function crlUrls(certificate: ParsedCertificate): string[] {
  const points = certificate.getExtension(CRLDistributionPointsExtension)?.distributionPoints ?? [];
  return points.flatMap((point) => point.distributionPoint?.fullName ?? []).flatMap((name) => name.uniformResourceIdentifier ?? []);
}

/** The facts of one certificate (DER). */
export function certificateFacts(der: Buffer): CertificateFacts {
  const certificate = new X509Certificate(der);
  // a copy: the library takes bytes over an ArrayBuffer of their own
  const parsed = new ParsedCertificate(new Uint8Array(der));
  const altNames = parsed.getExtension(SubjectAlternativeNameExtension)?.names.items ?? [];
  const access = parsed.getExtension(AuthorityInfoAccessExtension);
  return {
    subject: oneLineName(certificate.subject),
    issuer: oneLineName(certificate.issuer),
    commonName: parsed.subjectName.getField('CN')[0] ?? null,
    organization: parsed.subjectName.getField('O'),
    organizationalUnit: parsed.subjectName.getField('OU'),
    dnsNames: altNames.filter((name) => name.type === 'dns').map((name) => name.value),
    ipAddresses: altNames.filter((name) => name.type === 'ip').map((name) => name.value),
    key: keyFacts(certificate),
    signatureAlgorithm: signatureAlgorithmOf(parsed),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    serial: certificate.serialNumber.toUpperCase(),
    fingerprints: certificateFingerprints(der),
    ocspResponders: urlsOf(access?.ocsp ?? []),
    caIssuers: urlsOf(access?.caIssuers ?? []),
    crlDistributionPoints: crlUrls(parsed),
  };
}
