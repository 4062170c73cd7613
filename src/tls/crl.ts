import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';
import { signatureAlgorithmSupported, signatureVerifies } from './signatureDigests.js';

// CRLs (RFC 5280 section 5) as the relay applies them: each one to the certificates its
// issuer signed. Node cannot parse CRLs, and handing them to OpenSSL turns on revocation
// checks for every certificate of every chain (see revocation.ts), so @peculiar/x509
// reads them and this file decides what of them the relay can honour.

// The library takes most of a second to load (its ASN.1 schemas), which every start and
// every command that reads the config would pay: it is loaded with the first CRL, so a
// relay without CRLs never loads it. A synchronous require (the package is CommonJS):
// CRLs are read while the config loads and judged inside synchronous TLS verdicts.
let x509: typeof X509 | undefined;
const library = (): typeof X509 => (x509 ??= createRequire(import.meta.url)('@peculiar/x509') as typeof X509);

/** One CRL, read and checked for what this relay can honour, its signature not yet checked. */
export interface RevocationList {
  /** Where it came from, for messages. */
  source: string;
  /** DER of the issuer's Name as the library encodes it: compared with issuerAndSerial's issuer. */
  issuer: Buffer;
  /** The issuer's Name in one line (`CN=Partner CA, O=Fabrikam`), for messages. */
  issuerName: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Serial numbers of the revoked certificates (serialHex). */
  revoked: ReadonlySet<string>;
  /** The signed part exactly as it came, its algorithm (OID) and the signature. */
  signed: Buffer;
  signatureAlgorithm: string;
  signature: Buffer;
}

/**
 * Critical extensions a CRL may carry here. The Issuing Distribution Point only narrows
 * what the CRL covers, so applying it to all of its issuer's certificates misses nothing
 * it lists. Anything else critical (a delta CRL, say) changes the meaning: refused.
 */
const UNDERSTOOD_CRITICAL_EXTENSIONS: ReadonlySet<string> = new Set(['2.5.29.28']);

/**
 * Certificate Issuer makes an entry about another CA's certificate (an indirect CRL).
 * RFC 5280 has it critical, but not every CA tool marks it so (@peculiar/x509's own
 * X509CrlGenerator does not): refused either way, lest its serials be taken for the CRL issuer's.
 */
const ENTRY_EXTENSIONS_REFUSED_EVEN_UNMARKED: ReadonlySet<string> = new Set(['2.5.29.29']);

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/g;

/**
 * The library's CRL plus what its public API keeps to its own verify(), which is async
 * (WebCrypto): the relay checks signatures inside synchronous TLS verdicts, with node:crypto.
 */
interface SignedCrl extends X509.X509Crl {
  /** The TBSCertList bytes as they came, which the signature covers. */
  readonly signedBytes: Buffer;
  readonly signatureAlgorithmOid: string;
  /** RFC 5280 5.1.1.2: the algorithm named inside the signed part must be the one outside. */
  readonly algorithmsAgree: boolean;
}

/** The class behind SignedCrl, made when the library is first loaded (it extends the library's). */
let signedCrlClass: (new (der: Uint8Array<ArrayBuffer>) => SignedCrl) | undefined;

function readSignedCrl(der: Uint8Array<ArrayBuffer>): SignedCrl {
  signedCrlClass ??= class extends library().X509Crl implements SignedCrl {
    constructor(der: Uint8Array<ArrayBuffer>) {
      super(der);
    }

    get signedBytes(): Buffer {
      const raw = this.asn.tbsCertListRaw;
      if (raw === undefined) throw new Error('the signed part of the CRL was not kept');
      return Buffer.from(raw);
    }

    get signatureAlgorithmOid(): string {
      return this.asn.signatureAlgorithm.algorithm;
    }

    get algorithmsAgree(): boolean {
      return this.asn.signatureAlgorithm.isEqual(this.asn.tbsCertList.signature);
    }
  };
  return new signedCrlClass(der);
}

/** Every CRL in a PEM file; throws naming `source` when there is none or one is unusable. */
export function parseCrlFile(pem: string, source: string): RevocationList[] {
  const blocks = [...pem.matchAll(PEM_CRL)];
  if (blocks.length === 0) throw new Error(`${source}: no PEM CRL ("-----BEGIN X509 CRL-----") found`);
  return blocks.map((block, index) => {
    try {
      return parseCrl(Buffer.from(block[1]!.replace(/\s+/g, ''), 'base64'), source);
    } catch (err) {
      const which = blocks.length > 1 ? ` (CRL ${index + 1} of ${blocks.length})` : '';
      throw new Error(`${source}${which}: not a usable CRL: ${reasonOf(err)}`);
    }
  });
}

/** Why the library refused, in the relay's words where they are plainer. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // asn1js's words for a length that runs past the end of the data
  return message.startsWith('End of input reached') ? 'truncated DER' : message;
}

function parseCrl(der: Buffer, source: string): RevocationList {
  // a copy: the library takes bytes over an ArrayBuffer, never Node's shared pool
  const crl = readSignedCrl(new Uint8Array(der));
  const signatureAlgorithm = crl.signatureAlgorithmOid;
  if (!signatureAlgorithmSupported(signatureAlgorithm)) throw new Error(`signature algorithm ${signatureAlgorithm} is not supported`);
  if (!crl.algorithmsAgree) throw new Error('the signature algorithm inside the signed part is not the one outside');
  const revoked = new Set<string>();
  for (const entry of crl.entries) {
    // e.g. Certificate Issuer (indirect CRLs): the entry would be about another CA's certificate
    rejectUnhonouredExtensions(entry.extensions, new Set(), ENTRY_EXTENSIONS_REFUSED_EVEN_UNMARKED);
    revoked.add(serialHex(entry.serialNumber));
  }
  rejectUnhonouredExtensions(crl.extensions, UNDERSTOOD_CRITICAL_EXTENSIONS, new Set());
  return {
    source,
    issuer: Buffer.from(crl.issuerName.toArrayBuffer()),
    issuerName: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revoked,
    signed: crl.signedBytes,
    signatureAlgorithm,
    signature: Buffer.from(crl.signature),
  };
}

function rejectUnhonouredExtensions(
  extensions: readonly { type: string; critical: boolean }[],
  understood: ReadonlySet<string>,
  refusedEvenUnmarked: ReadonlySet<string>,
): void {
  for (const { type, critical } of extensions) {
    if (critical && !understood.has(type)) throw new Error(`critical extension ${type} is not supported`);
    if (refusedEvenUnmarked.has(type)) throw new Error(`extension ${type} is not supported`);
  }
}

/** A serial number as hex without leading zero octets: how CRL entries and certificates are compared. */
function serialHex(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=..)/, '');
}

/** Whether `issuerKey` made this CRL's signature. */
export function signedBy(crl: RevocationList, issuerKey: KeyObject): boolean {
  return signatureVerifies(crl.signatureAlgorithm, crl.signed, issuerKey, crl.signature);
}

/** The issuer Name (DER, as the library encodes it) and serial number of a certificate, for matching it against CRLs. */
export function issuerAndSerial(certificateDer: Buffer): { issuer: Buffer; serial: string } {
  const certificate = new (library().X509Certificate)(new Uint8Array(certificateDer));
  return { issuer: Buffer.from(certificate.issuerName.toArrayBuffer()), serial: serialHex(certificate.serialNumber) };
}
