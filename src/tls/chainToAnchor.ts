import type { X509Certificate } from 'node:crypto';
import { oneLineName } from './distinguishedName.js';

// Where the chain a certificate file holds leads: up to a trust anchor here (the system
// roots or tls.trust), or to where it stops. What a partner's verifier needs is the leaf,
// the intermediates in the file and a root it already has; a file that stops short of a
// root the partner has fails there, whatever the relay itself trusts.

/** A certificate that peers' chains may end at, and where it came from. */
export interface TrustAnchor {
  certificate: X509Certificate;
  /** `system` (Node's root store) or the tls.trust file that holds it. */
  from: 'system' | { file: string };
}

export interface ChainLink {
  certificate: X509Certificate;
  subject: string;
  notAfter: Date;
  /** `file` for a certificate of the served file, else the anchor's origin. */
  from: 'file' | TrustAnchor['from'];
}

export type ChainToAnchor =
  /** The file leads to an anchor: `path` runs from the leaf to it (the anchor last). */
  | { complete: true; anchor: TrustAnchor; path: ChainLink[] }
  /**
   * It does not: `path` is what the file holds in order, `top` its last certificate;
   * `selfSigned` when that one signed itself (a root, or a development certificate) but is
   * no anchor here.
   */
  | { complete: false; top: X509Certificate; selfSigned: boolean; path: ChainLink[] };

/** Issued (names, key identifiers) and signed by `issuer`. */
function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
}

/**
 * Signed by its own key under its own name. Not checkIssued: OpenSSL also wants keyCertSign
 * of an issuer, which a self-signed server certificate (the development pair) lacks.
 */
const selfSigned = (certificate: X509Certificate): boolean => certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey);

const link = (certificate: X509Certificate, from: ChainLink['from']): ChainLink => ({
  certificate,
  subject: oneLineName(certificate.subject),
  notAfter: new Date(certificate.validTo),
  from,
});

/**
 * Follows `served` (leaf first; the rest in any order) from the leaf, issuer by issuer,
 * preferring an anchor over a copy of it in the file, until an anchor issued or is the
 * current certificate — or nothing here issued it.
 */
export function chainToAnchor(served: readonly X509Certificate[], anchors: readonly TrustAnchor[]): ChainToAnchor {
  const [leaf] = served;
  if (leaf === undefined) throw new Error('no certificate to follow');
  const path: ChainLink[] = [];
  const unused = served.slice(1);
  let current = leaf;
  for (;;) {
    const itself = anchors.find((anchor) => anchor.certificate.fingerprint256 === current.fingerprint256);
    if (itself) return { complete: true, anchor: itself, path: [...path, link(current, itself.from)] };
    path.push(link(current, 'file'));
    const anchor = anchors.find((candidate) => issuedBy(current, candidate.certificate));
    if (anchor) return { complete: true, anchor, path: [...path, link(anchor.certificate, anchor.from)] };
    const next = unused.findIndex((candidate) => issuedBy(current, candidate));
    if (next === -1) return { complete: false, top: current, selfSigned: selfSigned(current), path };
    current = unused.splice(next, 1)[0]!;
  }
}
