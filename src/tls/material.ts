import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/types.js';
import { parseCrlFile, type RevocationList } from './crl.js';
import { validityAt } from './certificateValidity.js';
import { certificateFilesOf, type CertificateFiles } from './certificateFiles.js';

/** One pair as read from its files, checked: the key fits the certificate, which is in date. */
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

/** Our certificate is still served, but not for long. */
export interface ExpiringCertificate {
  /** The key naming it: `tls.cert`, `tls.certificates[1].cert`. */
  label: string;
  cert: string;
  /** `FILE:LINE:COL` of that key, when the config gave it a place. */
  place: string | undefined;
  notAfter: Date;
  daysLeft: number;
}

export interface LoadedTls {
  material: TlsMaterial;
  expiring: ExpiringCertificate[];
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

/** Splits a PEM bundle into its certificates (PEM blocks), checking each parses. */
function certificatesIn(pem: string, path: string, place?: string): Array<{ pem: string; certificate: X509Certificate }> {
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
 * certificate does, and a replacement is refused. Near its end it is served, and said so.
 */
function judgeDates(config: Config, files: CertificateFiles, leaf: X509Certificate, now: Date): ExpiringCertificate | undefined {
  const { cert, labels } = files;
  const place = config.places[labels.cert];
  const validity = validityAt(leaf, now);
  const regenerate = config.tls.generateIfMissing ? '; tls.generateIfMissing makes a new pair once both files are removed' : '';
  switch (validity.kind) {
    case 'valid':
      return undefined;
    case 'expires-soon':
      return { label: labels.cert, cert, place, notAfter: validity.notAfter, daysLeft: validity.daysLeft };
    case 'expired':
      throw new TlsFileError(`${labels.cert}: the certificate ${cert} expired on ${validity.notAfter.toISOString()}: clients refuse it; install a renewed one${regenerate}`, place);
    case 'not-yet-valid':
      throw new TlsFileError(`${labels.cert}: the certificate ${cert} is not valid before ${validity.notBefore.toISOString()}: clients refuse it until then (is this machine's clock right?)${regenerate}`, place);
  }
}

/**
 * Reads one pair and proves it usable: a key that does not fit its certificate, or a
 * certificate outside its validity period, fails here — at start, or when a replaced
 * file is read — not at the first handshake. Messages name files, never their contents.
 */
export function loadCertificate(config: Config, files: CertificateFiles, now = new Date()): { certificate: ServedCertificate; expiring: ExpiringCertificate | undefined } {
  const { labels } = files;
  const key = readPem(files.key, labels.key, config.places[labels.key]);
  const cert = readPem(files.cert, labels.cert, config.places[labels.cert]);
  const [leaf] = certificatesIn(cert, files.cert, config.places[labels.cert]);
  try {
    createSecureContext({ key, cert });
  } catch (err) {
    throw new TlsFileError(`${labels.key} ${files.key} does not fit ${labels.cert} ${files.cert}: ${(err as Error).message}`, config.places[labels.key]);
  }
  const expiring = judgeDates(config, files, leaf!.certificate, now);
  return { certificate: { files, cert, key, leaf: leaf!.certificate }, expiring };
}

/** Reads every certificate file a config names, and its trust anchors and CRLs, proving each usable. */
export function loadTlsMaterial(config: Config, now = new Date()): LoadedTls {
  const loaded = certificateFilesOf(config).map((files) => loadCertificate(config, files, now));
  const trust = loadTrust(config);
  // connectors read their CRLs again per delivery (a replaced file counts at once); an
  // unusable one must still stop the start rather than defer mail later
  for (const connector of config.outbound) {
    for (const path of connector.crl) parseCrlFile(readPem(path, `CRL of outbound connector "${connector.name}"`), path);
  }
  const expiring = loaded.flatMap(({ expiring: soon }) => (soon === undefined ? [] : [soon]));
  return { material: { certificates: loaded.map(({ certificate }) => certificate), ...trust }, expiring };
}

/** What peers' certificates are judged by: the system roots plus tls.trust, and tls.crl — without our own certificate, for commands that only look. */
export function loadTrust({ tls }: Config): Pick<TlsMaterial, 'ca' | 'crl'> {
  const trust = tls.trust.flatMap((path) => certificatesIn(readPem(path, 'tls.trust'), path).map((block) => block.pem));
  const crl = tls.crl.flatMap((path) => parseCrlFile(readPem(path, 'tls.crl'), path));
  return { ca: [...rootCertificates, ...trust], crl };
}
