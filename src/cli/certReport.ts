import type { X509Certificate } from 'node:crypto';
import { formatFingerprint } from '../config/fingerprint.js';
import type { Config } from '../config/types.js';
import { certificateFacts, type CertificateFacts } from '../tls/certificateFacts.js';
import { chainToAnchor, type ChainLink, type ChainToAnchor, type TrustAnchor } from '../tls/chainToAnchor.js';
import { daysLeft } from '../tls/expirySchedule.js';
import { clientCertificateFor } from '../tls/certificateSelection.js';
import { certificatesIn, type ServedCertificate } from '../tls/material.js';
import { trustAnchorsOf } from '../tls/trustAnchors.js';

// `tlsrelay cert info --json`: one document a script can rely on, and what the text form
// is made from. Dates are ISO strings, fingerprints in the form a config pins them.

/** Where the certificates judged came from: a certificate file, or a peer's handshake (`tls probe`). */
export type Presented = 'file' | 'peer';

/** Where a chain link came from: what was presented (the file, or the peer), the system store, or a tls.trust file. */
export type LinkOrigin = { from: Presented } | { from: 'system' } | { from: 'tls.trust'; file: string };

export interface ChainReport {
  /** What was presented leads, issuer by issuer, to a trust anchor here (system roots or tls.trust). */
  complete: boolean;
  /** The root the chain leads to (its CN, else its subject); null when what was presented stops short of any. */
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

function originOf(from: ChainLink['from'], presented: Presented): LinkOrigin {
  if (from === 'file') return { from: presented };
  return from === 'system' ? { from } : { from: 'tls.trust', file: from.file };
}

const nameOf = (certificate: X509Certificate): string => {
  const { commonName, subject } = certificateFacts(certificate.raw);
  return commonName ?? subject;
};

/** Where a verifier stops in what was presented, in the words of that place. */
const PROBLEMS: Record<Presented, { selfSigned: (top: string) => string; missingIssuer: (top: string, issuer: string) => string }> = {
  file: {
    selfSigned: (top) => `"${top}" signed itself and is no trust anchor here (system roots, tls.trust): a partner that verifies refuses it unless it trusts this very certificate`,
    missingIssuer: (top, issuer) => `the file ends at "${top}", whose issuer "${issuer}" is neither in the file nor a trust anchor here: add the missing intermediate certificates after it in the file`,
  },
  peer: {
    selfSigned: (top) => `"${top}" signed itself and is no trust anchor here (system roots, tls.trust): verify-ca and verify refuse it, unless it goes into tls.trust (or its pin into a fingerprint connector)`,
    missingIssuer: (top, issuer) =>
      `the chain the peer sent ends at "${top}", whose issuer "${issuer}" is neither in it nor a trust anchor here: the peer leaves out an intermediate certificate, or its root is not in tls.trust`,
  },
};

/** Where what was `presented` leads (chainToAnchor's finding), as the documents say it. */
export function chainReport(chain: ChainToAnchor, presented: Presented): ChainReport {
  const path = chain.path.map(({ subject, notAfter, from }) => ({ subject, notAfter: notAfter.toISOString(), ...originOf(from, presented) }));
  if (chain.complete) return { complete: true, rootIssuer: nameOf(chain.anchor.certificate), problem: null, path };
  const top = certificateFacts(chain.top.raw);
  if (chain.selfSigned) {
    return { complete: false, rootIssuer: top.commonName ?? top.subject, problem: PROBLEMS[presented].selfSigned(top.subject), path };
  }
  return { complete: false, rootIssuer: null, problem: PROBLEMS[presented].missingIssuer(top.subject, top.issuer), path };
}

/** The facts of one certificate as the JSON documents give them. */
export function certificateBody(facts: CertificateFacts, now: Date): CertificateReportBody {
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
    chain: chainReport(chainToAnchor(chain, anchors), 'file'),
    certificate: certificateBody(certificateFacts(served.leaf.raw), now),
  };
}

/**
 * The certificates the relay serves and presents (`certificates`: the pairs as read,
 * TlsMaterial.certificates' kind, in config order), each with its chain judged against
 * the anchors here. Throws TlsFileError for a file that is no certificate.
 */
export function certInfoReport(config: Config, certificates: readonly ServedCertificate[], now: Date): CertInfoReport {
  if (certificates.length === 0) return { certificates: [] };
  const anchors = trustAnchorsOf(config);
  return { certificates: certificates.map((served) => certificateReport(config, served, certificates, anchors, now)) };
}
