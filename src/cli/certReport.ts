import { rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { formatFingerprint } from '../config/fingerprint.js';
import type { Config } from '../config/types.js';
import { certificateFacts, type CertificateFacts } from '../tls/certificateFacts.js';
import { chainToAnchor, type ChainLink, type TrustAnchor } from '../tls/chainToAnchor.js';
import { daysLeft } from '../tls/expirySchedule.js';
import { clientCertificateFor } from '../tls/certificateSelection.js';
import { certificatesIn, readTrustFiles, type ServedCertificate } from '../tls/material.js';

// `tlsrelay cert info --json`: one document a script can rely on, and what the text form
// is made from. Dates are ISO strings, fingerprints in the form a config pins them.

/** Where a chain link came from: the served file, the system store, or a tls.trust file. */
export type LinkOrigin = { from: 'file' } | { from: 'system' } | { from: 'tls.trust'; file: string };

export interface ChainReport {
  /** The file leads, issuer by issuer, to a trust anchor here (system roots or tls.trust). */
  complete: boolean;
  /** The root the chain leads to (its CN, else its subject); null when the file stops short of any. */
  rootIssuer: string | null;
  /** Why a partner's verifier would stop, when the chain is not complete. */
  problem: string | null;
  /** Leaf first. */
  path: Array<{ subject: string; notAfter: string } & LinkOrigin>;
}

/** CertificateFacts for JSON: dates as ISO strings, fingerprints in the form a config pins them. */
export type CertificateReportBody = Omit<CertificateFacts, 'notBefore' | 'notAfter' | 'fingerprints'> & {
  notBefore: string;
  notAfter: string;
  /** Whole days until notAfter (negative once past), as the expiry warnings count them. */
  daysLeft: number;
  /** `sha256:` + hex: an outbound connector's `fingerprints` entry, as is. */
  fingerprints: { certificate: string; publicKey: string };
};

export interface CertificateReport {
  /** The config key that names the file: `tls.cert`, `tls.certificates[1].cert`. */
  setting: string;
  /** The pair's tls.certificates name, what a connector's clientCertificate calls it; null when it has none. */
  name: string | null;
  file: string;
  /** `FILE:LINE:COL` of that key. */
  where: string | null;
  keyFile: string;
  /** Listeners that serve it: every one with TLS (which pair a client gets, SNI and its key types choose). */
  servedBy: string[];
  /** Outbound connectors that present it as their client certificate (`true` for the first pair, or its name). */
  presentedBy: string[];
  chain: ChainReport;
  certificate: CertificateReportBody;
}

export interface CertInfoReport {
  certificates: CertificateReport[];
}

const originOf = (from: ChainLink['from']): LinkOrigin => (from === 'file' || from === 'system' ? { from } : { from: 'tls.trust', file: from.file });

/** The anchors partners' chains may end at here: Node's root store, then tls.trust. */
function trustAnchors(config: Config): TrustAnchor[] {
  return [
    ...rootCertificates.map((pem): TrustAnchor => ({ certificate: new X509Certificate(pem), from: 'system' })),
    ...readTrustFiles(config).map(({ certificate, file }): TrustAnchor => ({ certificate, from: { file } })),
  ];
}

const nameOf = (certificate: X509Certificate): string => {
  const { commonName, subject } = certificateFacts(certificate.raw);
  return commonName ?? subject;
};

function chainReport(served: X509Certificate[], anchors: TrustAnchor[]): ChainReport {
  const chain = chainToAnchor(served, anchors);
  const path = chain.path.map(({ subject, notAfter, from }) => ({ subject, notAfter: notAfter.toISOString(), ...originOf(from) }));
  if (chain.complete) return { complete: true, rootIssuer: nameOf(chain.anchor.certificate), problem: null, path };
  const top = certificateFacts(chain.top.raw);
  if (chain.selfSigned) {
    return {
      complete: false,
      rootIssuer: top.commonName ?? top.subject,
      problem: `"${top.subject}" signed itself and is no trust anchor here (system roots, tls.trust): a partner that verifies refuses it unless it trusts this very certificate`,
      path,
    };
  }
  return {
    complete: false,
    rootIssuer: null,
    problem: `the file ends at "${top.subject}", whose issuer "${top.issuer}" is neither in the file nor a trust anchor here: add the missing intermediate certificates after it in the file`,
    path,
  };
}

function body(facts: CertificateFacts, now: Date): CertificateReportBody {
  return {
    subject: facts.subject,
    issuer: facts.issuer,
    commonName: facts.commonName,
    organization: facts.organization,
    organizationalUnit: facts.organizationalUnit,
    dnsNames: facts.dnsNames,
    ipAddresses: facts.ipAddresses,
    key: facts.key,
    signatureAlgorithm: facts.signatureAlgorithm,
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    daysLeft: daysLeft(facts.notAfter, now),
    serial: facts.serial,
    fingerprints: { certificate: formatFingerprint(facts.fingerprints.certificate), publicKey: formatFingerprint(facts.fingerprints.publicKey) },
    ocspResponders: facts.ocspResponders,
    caIssuers: facts.caIssuers,
    crlDistributionPoints: facts.crlDistributionPoints,
  };
}

function certificateReport(config: Config, served: ServedCertificate, certificates: readonly ServedCertificate[], anchors: TrustAnchor[], now: Date): CertificateReport {
  const { files } = served;
  const where = config.places[files.labels.cert];
  const chain = certificatesIn(served.cert, files.cert, where).map((block) => block.certificate);
  return {
    setting: files.labels.cert,
    name: files.name ?? null,
    file: files.cert,
    where: where ?? null,
    keyFile: files.key,
    servedBy: config.listeners.filter((listener) => listener.tls !== 'none').map((listener) => listener.name),
    presentedBy: config.outbound.filter((connector) => clientCertificateFor(certificates, connector.clientCertificate) === served).map((connector) => connector.name),
    chain: chainReport(chain, anchors),
    certificate: body(certificateFacts(served.leaf.raw), now),
  };
}

/**
 * The certificates the relay serves and presents (`certificates`: the pairs as read,
 * TlsMaterial.certificates' kind, in config order), each with its chain judged against
 * the anchors here. Throws TlsFileError for a file that is no certificate.
 */
export function certInfoReport(config: Config, certificates: readonly ServedCertificate[], now: Date): CertInfoReport {
  if (certificates.length === 0) return { certificates: [] };
  const anchors = trustAnchors(config);
  return { certificates: certificates.map((served) => certificateReport(config, served, certificates, anchors, now)) };
}
