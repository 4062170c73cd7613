import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/types.js';
import { parseCrlFile, type RevocationList } from './crl.js';

/** Certificates and trust loaded from one config snapshot; served inbound and presented outbound. */
export interface TlsMaterial {
  key: string | undefined;
  cert: string | undefined;
  /** System roots plus tls.trust, PEM. Node's `ca` option replaces the roots, so both go in. */
  ca: string[];
  /** tls.crl, read and checked at load; each applies to the certificates its issuer signed. */
  crl: RevocationList[];
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Splits a PEM bundle into its certificates, checking each parses. */
function certificatesIn(pem: string, path: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${path}: no PEM certificate found`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new Error(`${path}: not a valid certificate: ${(err as Error).message}`);
    }
  }
  return blocks;
}

/**
 * Reads the certificate files a config names and proves they are usable (a key that
 * does not match its certificate fails here, at start, not at the first handshake).
 * Error messages name files, never their contents.
 */
export function loadTlsMaterial(config: Config): TlsMaterial {
  const { tls } = config;
  let key: string | undefined;
  let cert: string | undefined;
  if (tls.cert !== undefined && tls.key !== undefined) {
    key = readPem(tls.key, 'tls.key');
    cert = readPem(tls.cert, 'tls.cert');
    certificatesIn(cert, tls.cert);
    try {
      createSecureContext({ key, cert });
    } catch (err) {
      throw new Error(`tls.key ${tls.key} does not fit tls.cert ${tls.cert}: ${(err as Error).message}`);
    }
  }
  const trust = tls.trust.flatMap((path) => certificatesIn(readPem(path, 'tls.trust'), path));
  const crl = tls.crl.flatMap((path) => parseCrlFile(readPem(path, 'tls.crl'), path));
  // connectors read their CRLs again per delivery (a replaced file counts at once); an
  // unusable one must still stop the start rather than defer mail later
  for (const connector of config.outbound) {
    for (const path of connector.crl) parseCrlFile(readPem(path, `CRL of outbound connector "${connector.name}"`), path);
  }
  return { key, cert, ca: [...rootCertificates, ...trust], crl };
}
