import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { normalizeDomain } from '../config/domain.js';
import { oneLineName } from './distinguishedName.js';
import { subjectPublicKeyInfo } from './spki.js';

// DANE for SMTP (RFC 7672, RFC 7671, RFC 6698): does a presented certificate chain match
// a TLSA RRset? Pure functions over DER; the DNS lookup and the security of its answer
// are the caller's.

/** One TLSA record (RFC 6698 2.1). */
export interface TlsaRecord {
  /** 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE (RFC 7218). */
  usage: number;
  /** 0 the whole certificate, 1 its SubjectPublicKeyInfo. */
  selector: number;
  /** 0 the data itself, 1 its SHA-256, 2 its SHA-512. */
  matchingType: number;
  data: Buffer;
}

export const DANE_TA = 2;
export const DANE_EE = 3;

/** Digest lengths by matching type; 0 (the data itself) is any non-empty length. */
const DIGEST_LENGTHS: Record<number, number> = { 1: 32, 2: 64 };

export interface UsableTlsa {
  usable: TlsaRecord[];
  /** Records of a usage SMTP cannot use (PKIX-TA, PKIX-EE: RFC 7672 3.1.3) or of unknown parameters. */
  unusable: number;
}

function isUsable(record: TlsaRecord): boolean {
  if (record.usage !== DANE_TA && record.usage !== DANE_EE) return false;
  if (record.selector !== 0 && record.selector !== 1) return false;
  if (record.matchingType === 0) return record.data.length > 0;
  return DIGEST_LENGTHS[record.matchingType] === record.data.length;
}

/** Sorts an RRset. With only unusable records the RFC asks for TLS without authentication (RFC 7672 2.2). */
export function usableTlsa(records: readonly TlsaRecord[]): UsableTlsa {
  const usable = records.filter(isUsable);
  return { usable, unusable: records.length - usable.length };
}

/** `3 1 1 9f86d081…` in full, as a zone file writes it: the transit record's and TLS-RPT's policy-string. */
export function presentTlsa(record: TlsaRecord): string {
  return `${record.usage} ${record.selector} ${record.matchingType} ${record.data.toString('hex')}`;
}

/** `3 1 1 9f86d081884c7d65…`: usage, selector, matching type and the first 8 bytes of the data, for logs. */
export function describeTlsa(record: TlsaRecord): string {
  return abbreviateTlsa(presentTlsa(record));
}

/** describeTlsa of a record in presentation form (`3 1 1 <hex>`). */
export function abbreviateTlsa(presented: string): string {
  const fields = presented.split(' ');
  const hex = fields.slice(3).join('');
  return `${fields.slice(0, 3).join(' ')} ${hex.slice(0, 16)}${hex.length > 16 ? '…' : ''}`;
}

export type DaneMatch =
  /**
   * `how`: `leaf` — a DANE-EE record matched the server's own certificate or key (depth 0);
   * `trust-anchor` — a DANE-TA record matched the certificate at `depth` of the chain;
   * `trust-anchor-key` — a DANE-TA public key (2 1 0) that is not in the chain signed the
   * certificate at `depth - 1`, so the key stands at `depth`.
   */
  | { kind: 'matched'; record: TlsaRecord; depth: number; how: 'leaf' | 'trust-anchor' | 'trust-anchor-key' }
  | { kind: 'failed'; reason: string };

function selected(record: TlsaRecord, certificateDer: Buffer): Buffer {
  return record.selector === 0 ? certificateDer : subjectPublicKeyInfo(certificateDer);
}

function associationData(matchingType: number, data: Buffer): Buffer {
  if (matchingType === 1) return createHash('sha256').update(data).digest();
  if (matchingType === 2) return createHash('sha512').update(data).digest();
  return data;
}

function matches(record: TlsaRecord, certificateDer: Buffer): boolean {
  return associationData(record.matchingType, selected(record, certificateDer)).equals(record.data);
}

/** A full public key (2 1 0) can stand in for a trust anchor the server does not send (RFC 7671 5.2.2). */
function anchorKey(record: TlsaRecord): KeyObject | undefined {
  if (record.usage !== DANE_TA || record.selector !== 1 || record.matchingType !== 0) return undefined;
  try {
    return createPublicKey({ key: record.data, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function datesProblem(certificate: X509Certificate, depth: number, now: Date): string | undefined {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (now < from) return `the certificate at depth ${depth} is not valid before ${from.toISOString()}`;
  if (now > to) return `the certificate at depth ${depth} expired ${to.toISOString()}`;
  return undefined;
}

/** Issued (names and key identifiers) and signed by a CA certificate presented above it. */
function linkProblem(certificate: X509Certificate, issuer: X509Certificate, depth: number): string | undefined {
  if (!issuer.ca) return `the certificate at depth ${depth + 1} is not a CA`;
  if (!certificate.checkIssued(issuer)) return `the certificate at depth ${depth} was not issued by the one at depth ${depth + 1}`;
  if (!certificate.verify(issuer.publicKey)) return `the certificate at depth ${depth} is not signed by the one at depth ${depth + 1}`;
  return undefined;
}

/** RFC 7672 3.2.3: SAN dNSNames (the CN only without them); a wildcard only as the whole left-most label. */
function namesProblem(leaf: X509Certificate, referenceNames: readonly string[]): string | undefined {
  const names = referenceNames.flatMap((name) => normalizeDomain(name) ?? []);
  const options = { subject: 'default', wildcards: true, partialWildcards: false, multiLabelWildcards: false, singleLabelSubdomains: false } as const;
  if (names.some((name) => leaf.checkHost(name, options) !== undefined)) return undefined;
  return `the certificate names none of ${names.join(', ')} (it has ${leaf.subjectAltName ?? oneLineName(leaf.subject)})`;
}

/**
 * DANE-TA: the certificates under the trust anchor (`path`, leaf first) are each within
 * their dates and signed by the next, the top one by the anchor; the leaf bears a
 * reference name. The anchor itself is not date-checked: it is what the domain
 * published, as RFC 7671 5.2.2 treats it.
 */
function pathProblem(path: readonly X509Certificate[], anchor: X509Certificate | KeyObject, referenceNames: readonly string[], now: Date): string | undefined {
  for (const [depth, certificate] of path.entries()) {
    const problem =
      datesProblem(certificate, depth, now) ??
      (depth + 1 < path.length ? linkProblem(certificate, path[depth + 1]!, depth) : anchor instanceof X509Certificate ? linkProblem(certificate, anchor, depth) : undefined);
    if (problem !== undefined) return problem;
  }
  return namesProblem(path[0]!, referenceNames);
}

function parseChain(chainDer: readonly Buffer[]): X509Certificate[] | string {
  const chain: X509Certificate[] = [];
  for (const [depth, der] of chainDer.entries()) {
    try {
      chain.push(new X509Certificate(der));
      subjectPublicKeyInfo(der);
    } catch {
      return `the certificate at depth ${depth} cannot be read`;
    }
  }
  return chain;
}

/**
 * Whether the chain the server presented (`chainDer`, leaf first) matches one of the
 * usable records. DANE-EE (3): the leaf's certificate (selector 0) or key (1) —
 * names and dates are not checked (RFC 7672 3.1.1). DANE-TA (2): a certificate of the
 * chain above the leaf, or a full key that signed one, is the trust anchor; the chain
 * below it must verify, be within its dates and name one of `referenceNames` (the MX
 * host, and its CNAME-expanded name: RFC 7672 3.2.2). DANE-EE records are tried first.
 */
export function matchDane(usable: readonly TlsaRecord[], chainDer: readonly Buffer[], referenceNames: readonly string[], now: Date): DaneMatch {
  const leafDer = chainDer[0];
  if (leafDer === undefined) return { kind: 'failed', reason: 'the server presented no certificate' };
  const chain = parseChain(chainDer);
  if (typeof chain === 'string') return { kind: 'failed', reason: chain };

  const endEntity = usable.find((record) => record.usage === DANE_EE && matches(record, leafDer));
  if (endEntity !== undefined) return { kind: 'matched', record: endEntity, depth: 0, how: 'leaf' };

  // a trust anchor that matched but whose chain failed says more than "no match"
  let anchoredProblem: string | undefined;
  for (const record of usable.filter((candidate) => candidate.usage === DANE_TA)) {
    for (let depth = 1; depth < chain.length; depth++) {
      if (!matches(record, chainDer[depth]!)) continue;
      const problem = pathProblem(chain.slice(0, depth), chain[depth]!, referenceNames, now);
      if (problem === undefined) return { kind: 'matched', record, depth, how: 'trust-anchor' };
      anchoredProblem ??= `trust anchor ${describeTlsa(record)} at depth ${depth}: ${problem}`;
    }
    const key = anchorKey(record);
    if (key === undefined) continue;
    for (let depth = 0; depth < chain.length; depth++) {
      // false, not an error, for a key of another type than the signature (an RSA key, an ECDSA signature)
      if (!chain[depth]!.verify(key)) continue;
      const problem = pathProblem(chain.slice(0, depth + 1), key, referenceNames, now);
      if (problem === undefined) return { kind: 'matched', record, depth: depth + 1, how: 'trust-anchor-key' };
      anchoredProblem ??= `trust anchor key ${describeTlsa(record)} above depth ${depth}: ${problem}`;
    }
  }
  return { kind: 'failed', reason: anchoredProblem ?? `no TLSA record matched the certificate chain (${usable.map(describeTlsa).join(', ')})` };
}
