import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/types.js';
import { parseCrlFile, type RevocationList } from './crl.js';
import { validityAt } from './certificateValidity.js';

/** Certificates and trust loaded from one config snapshot; served inbound and presented outbound. */
export interface TlsMaterial {
  key: string | undefined;
  cert: string | undefined;
  /** System roots plus tls.trust, PEM. Node's `ca` option replaces the roots, so both go in. */
  ca: string[];
  /** tls.crl, read and checked at load; each applies to the certificates its issuer signed. */
  crl: RevocationList[];
}

/** Our certificate is still served, but not for long. */
export interface ExpiringCertificate {
  cert: string;
  /** `FILE:LINE:COL` of tls.cert, when the config gave it a place. */
  place: string | undefined;
  notAfter: Date;
  daysLeft: number;
}

export interface LoadedTls {
  material: TlsMaterial;
  expiring: ExpiringCertificate | undefined;
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
 * Our certificate is the first in tls.cert (what follows is its chain). Outside its
 * validity period every client refuses it: that stops the start, as any other unusable
 * certificate does. Near its end it is served, and said so.
 */
function judgeDates(config: Config, leaf: X509Certificate, now: Date): ExpiringCertificate | undefined {
  const { cert = '', generateIfMissing } = config.tls;
  const places = { cert: config.places['tls.cert'], key: config.places['tls.key'] };
  const validity = validityAt(leaf, now);
  const regenerate = generateIfMissing ? '; tls.generateIfMissing makes a new pair once both files are removed' : '';
  switch (validity.kind) {
    case 'valid':
      return undefined;
    case 'expires-soon':
      return { cert, place: places.cert, notAfter: validity.notAfter, daysLeft: validity.daysLeft };
    case 'expired':
      throw new TlsFileError(`tls.cert: the certificate ${cert} expired on ${validity.notAfter.toISOString()}: clients refuse it; install a renewed one${regenerate}`, places.cert);
    case 'not-yet-valid':
      throw new TlsFileError(`tls.cert: the certificate ${cert} is not valid before ${validity.notBefore.toISOString()}: clients refuse it until then (is this machine's clock right?)${regenerate}`, places.cert);
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
  let expiring: ExpiringCertificate | undefined;
  if (tls.cert !== undefined && tls.key !== undefined) {
    key = readPem(tls.key, 'tls.key', config.places['tls.key']);
    cert = readPem(tls.cert, 'tls.cert', config.places['tls.cert']);
    const [leaf] = certificatesIn(cert, tls.cert, config.places['tls.cert']);
    try {
      createSecureContext({ key, cert });
    } catch (err) {
      throw new TlsFileError(`tls.key ${tls.key} does not fit tls.cert ${tls.cert}: ${(err as Error).message}`, config.places['tls.key']);
    }
    expiring = judgeDates(config, leaf!.certificate, now);
  }
  const trust = loadTrust(config);
  // connectors read their CRLs again per delivery (a replaced file counts at once); an
  // unusable one must still stop the start rather than defer mail later
  for (const connector of config.outbound) {
    for (const path of connector.crl) parseCrlFile(readPem(path, `CRL of outbound connector "${connector.name}"`), path);
  }
  return { material: { key, cert, ...trust }, expiring };
}

/** What peers' certificates are judged by: the system roots plus tls.trust, and tls.crl — without our own certificate, for commands that only look. */
export function loadTrust({ tls }: Config): Pick<TlsMaterial, 'ca' | 'crl'> {
  const trust = tls.trust.flatMap((path) => certificatesIn(readPem(path, 'tls.trust'), path).map((block) => block.pem));
  const crl = tls.crl.flatMap((path) => parseCrlFile(readPem(path, 'tls.crl'), path));
  return { ca: [...rootCertificates, ...trust], crl };
}
