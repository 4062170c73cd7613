import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/types.js';
import { parseCrlFile, type RevocationList } from './crl.js';
import { validityAt } from './certificateValidity.js';
import { certificateFilesOf, type CertificateFiles } from './certificateFiles.js';
import { certificateDated, connectorCrlDated, tlsCrlDated, type Dated } from './dated.js';

/** One pair as read from its files; once loaded (loadCertificate), checked: the key fits the certificate, which is in date. */
export interface ServedCertificate {
  files: CertificateFiles;
  /** The files' contents (PEM), as served; a change of the files is told by them. */
  cert: string;
  key: string;
  /** The first certificate of `cert`: ours; what follows it is its chain. */
  leaf: X509Certificate;
}

/** Certificates and trust loaded from one config snapshot; served inbound and presented outbound. */
export interface TlsMaterial {
  /** In the config's order; empty when it names no certificate. */
  certificates: ServedCertificate[];
  /** System roots plus tls.trust, PEM. Node's `ca` option replaces the roots, so both go in. */
  ca: string[];
  /** tls.crl, read and checked at load; each applies to the certificates its issuer signed. */
  crl: RevocationList[];
}

export interface LoadedTls {
  material: TlsMaterial;
  /**
   * The tls.trust anchors and tls.crl, with the dates they run out. The served certificates'
   * dates are servedDated's, of whatever is served at the time (a replaced file counts);
   * the connectors' CRLs are read anew (connectorCrlDated).
   */
  trustDated: Dated[];
}

/** A problem in a file the config names; `place` is the `FILE:LINE:COL` of the key naming it, when known. */
export class TlsFileError extends Error {
  constructor(
    message: string,
    readonly place?: string,
  ) {
    super(message);
    this.name = 'TlsFileError';
  }
}

function readPem(path: string, what: string, place?: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TlsFileError(`cannot read ${what} ${path}: ${(err as Error).message}`, place);
  }
}

/** One certificate of a PEM file. */
export interface CertificateBlock {
  pem: string;
  certificate: X509Certificate;
}

/** Splits a PEM bundle into its certificates (PEM blocks), checking each parses. */
export function certificatesIn(pem: string, path: string, place?: string): CertificateBlock[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsFileError(`${path}: no PEM certificate found`, place);
  return blocks.map((block) => {
    try {
      return { pem: block, certificate: new X509Certificate(block) };
    } catch (err) {
      throw new TlsFileError(`${path}: not a valid certificate: ${(err as Error).message}`, place);
    }
  });
}

/**
 * Our certificate is the first in its file (what follows is its chain). Outside its
 * validity period every client refuses it: that stops the start, as any other unusable
 * certificate does, and a replacement is refused. Near its end it is served, with the
 * warnings of expirySchedule.ts.
 */
function judgeDates(config: Config, files: CertificateFiles, leaf: X509Certificate, now: Date): void {
  const { cert, labels } = files;
  const place = config.places[labels.cert];
  const validity = validityAt(leaf, now);
  const regenerate = config.tls.generateIfMissing ? '; tls.generateIfMissing makes a new pair once both files are removed' : '';
  switch (validity.kind) {
    case 'valid':
      return;
    case 'expired':
      throw new TlsFileError(`${labels.cert}: the certificate ${cert} expired on ${validity.notAfter.toISOString()}: clients refuse it; install a renewed one${regenerate}`, place);
    case 'not-yet-valid':
      throw new TlsFileError(`${labels.cert}: the certificate ${cert} is not valid before ${validity.notBefore.toISOString()}: clients refuse it until then (is this machine's clock right?)${regenerate}`, place);
  }
}

/** Reads one pair's files as they are, judging neither the key nor the dates: for a command that only looks (cert info). */
export function readCertificate(config: Config, files: CertificateFiles): ServedCertificate {
  const { labels } = files;
  const key = readPem(files.key, labels.key, config.places[labels.key]);
  const cert = readPem(files.cert, labels.cert, config.places[labels.cert]);
  const [leaf] = certificatesIn(cert, files.cert, config.places[labels.cert]);
  return { files, cert, key, leaf: leaf!.certificate };
}

/**
 * Reads one pair and proves it usable: a key that does not fit its certificate, or a
 * certificate outside its validity period, fails here — at start, or when a replaced
 * file is read — not at the first handshake. Messages name files, never their contents.
 */
export function loadCertificate(config: Config, files: CertificateFiles, now = new Date()): ServedCertificate {
  const certificate = readCertificate(config, files);
  const { labels } = files;
  try {
    createSecureContext({ key: certificate.key, cert: certificate.cert });
  } catch (err) {
    throw new TlsFileError(`${labels.key} ${files.key} does not fit ${labels.cert} ${files.cert}: ${(err as Error).message}`, config.places[labels.key]);
  }
  judgeDates(config, files, certificate.leaf, now);
  return certificate;
}

/** The served certificates with the dates they run out, each named by its own key (`tls.certificates[1].cert`). */
export function servedDated(config: Config, certificates: readonly ServedCertificate[]): Dated[] {
  return certificates.map(({ files, leaf }) => certificateDated('certificate', files.labels.cert, files.cert, config.places[files.labels.cert], leaf));
}

/**
 * What the expiry warnings judge: the certificates served now, tls.trust and tls.crl as
 * loaded (`trustDated`), and the connectors' CRLs as they are on disk now.
 */
export function datedNow(config: Config, certificates: readonly ServedCertificate[], trustDated: readonly Dated[]): Dated[] {
  return [...servedDated(config, certificates), ...trustDated, ...connectorCrlDated(config)];
}

/** Reads every certificate file a config names, and its trust anchors and CRLs, proving each usable. */
export function loadTlsMaterial(config: Config, now = new Date()): LoadedTls {
  const certificates = certificateFilesOf(config).map((files) => loadCertificate(config, files, now));
  const trust = readTrust(config);
  // connectors read their CRLs again per delivery (a replaced file counts at once); an
  // unusable one must still stop the start rather than defer mail later
  for (const connector of config.outbound) {
    for (const path of connector.crl) parseCrlFile(readPem(path, `CRL of outbound connector "${connector.name}"`), path);
  }
  return { material: { certificates, ca: trust.ca, crl: trust.crl }, trustDated: trust.dated };
}

/** The certificates of a file the config names (`what` is its key, for messages), in file order; throws TlsFileError. */
export function readCertificateFile(path: string, what: string, place?: string): CertificateBlock[] {
  return certificatesIn(readPem(path, what, place), path, place);
}

/** A certificate of tls.trust, with its file and the place that names the file. */
export interface TrustFileCertificate extends CertificateBlock {
  file: string;
  place: string | undefined;
}

/** Every certificate of every tls.trust file, in config order. */
export function readTrustFiles(config: Config): TrustFileCertificate[] {
  return config.tls.trust.flatMap((file, index) => {
    const place = config.places[`tls.trust[${index}]`];
    return readCertificateFile(file, 'tls.trust', place).map((block) => ({ ...block, file, place }));
  });
}

/** tls.trust and tls.crl, read and checked, with what in them runs out when. */
function readTrust(config: Config): Pick<TlsMaterial, 'ca' | 'crl'> & { dated: Dated[] } {
  const anchors = readTrustFiles(config);
  const crl = config.tls.crl.flatMap((path, index) => parseCrlFile(readPem(path, 'tls.crl', config.places[`tls.crl[${index}]`]), path));
  return {
    ca: [...rootCertificates, ...anchors.map((anchor) => anchor.pem)],
    crl,
    dated: [...anchors.map(({ file, place, certificate }) => certificateDated('trust-anchor', 'tls.trust', file, place, certificate)), ...tlsCrlDated(config, crl)],
  };
}

/** What peers' certificates are judged by: the system roots plus tls.trust, and tls.crl — without our own certificate, for commands that only look. */
export function loadTrust(config: Config): Pick<TlsMaterial, 'ca' | 'crl'> {
  const { ca, crl } = readTrust(config);
  return { ca, crl };
}
