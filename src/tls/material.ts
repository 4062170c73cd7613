import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/types.js';
import { parseCrlFile, type RevocationList } from './crl.js';
import { validityAt } from './certificateValidity.js';
import { certificateDated, tlsCrlDated, type Dated } from './dated.js';

/** Certificates and trust loaded from one config snapshot; served inbound and presented outbound. */
export interface TlsMaterial {
  key: string | undefined;
  cert: string | undefined;
  /** System roots plus tls.trust, PEM. Node's `ca` option replaces the roots, so both go in. */
  ca: string[];
  /** tls.crl, read and checked at load; each applies to the certificates its issuer signed. */
  crl: RevocationList[];
}

export interface LoadedTls {
  material: TlsMaterial;
  /** Our certificate, the tls.trust anchors and tls.crl, with the dates they run out (the connectors' CRLs are read anew: connectorCrlDated). */
  dated: Dated[];
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
function certificatesIn(pem: string, path: string, place?: string): CertificateBlock[] {
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
 * Our certificate is the first in tls.cert (what follows is its chain). Outside its
 * validity period every client refuses it: that stops the start, as any other unusable
 * certificate does. Near its end it is served, with the warnings of expirySchedule.ts.
 */
function judgeDates(config: Config, leaf: X509Certificate, now: Date): void {
  const { cert = '', generateIfMissing } = config.tls;
  const place = config.places['tls.cert'];
  const validity = validityAt(leaf, now);
  const regenerate = generateIfMissing ? '; tls.generateIfMissing makes a new pair once both files are removed' : '';
  switch (validity.kind) {
    case 'valid':
      return;
    case 'expired':
      throw new TlsFileError(`tls.cert: the certificate ${cert} expired on ${validity.notAfter.toISOString()}: clients refuse it; install a renewed one${regenerate}`, place);
    case 'not-yet-valid':
      throw new TlsFileError(`tls.cert: the certificate ${cert} is not valid before ${validity.notBefore.toISOString()}: clients refuse it until then (is this machine's clock right?)${regenerate}`, place);
  }
}

/**
 * Reads the certificate files a config names and proves they are usable (a key that
 * does not match its certificate, or a certificate outside its validity period, fails
 * here, at start, not at the first handshake). Error messages name files, never their contents.
 */
export function loadTlsMaterial(config: Config, now = new Date()): LoadedTls {
  const { tls } = config;
  let key: string | undefined;
  let cert: string | undefined;
  const dated: Dated[] = [];
  if (tls.cert !== undefined && tls.key !== undefined) {
    const place = config.places['tls.cert'];
    key = readPem(tls.key, 'tls.key', config.places['tls.key']);
    cert = readPem(tls.cert, 'tls.cert', place);
    const [leaf] = certificatesIn(cert, tls.cert, place);
    try {
      createSecureContext({ key, cert });
    } catch (err) {
      throw new TlsFileError(`tls.key ${tls.key} does not fit tls.cert ${tls.cert}: ${(err as Error).message}`, config.places['tls.key']);
    }
    judgeDates(config, leaf!.certificate, now);
    dated.push(certificateDated('certificate', 'tls.cert', tls.cert, place, leaf!.certificate));
  }
  const trust = readTrust(config);
  // connectors read their CRLs again per delivery (a replaced file counts at once); an
  // unusable one must still stop the start rather than defer mail later
  for (const connector of config.outbound) {
    for (const path of connector.crl) parseCrlFile(readPem(path, `CRL of outbound connector "${connector.name}"`), path);
  }
  return { material: { key, cert, ca: trust.ca, crl: trust.crl }, dated: [...dated, ...trust.dated] };
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
