import { createRequire } from 'node:module';
import type * as Ocsp from '@peculiar/asn1-ocsp';
import type * as Schema from '@peculiar/asn1-schema';
import type * as X509Asn from '@peculiar/asn1-x509';

// Node has no OCSP parser, and OCSP is DER all the way down: the schemas of
// @peculiar/asn1-ocsp (RFC 6960) read and write it rather than hand-written DER. Loaded
// with the first OCSP request or response, as crl.ts loads @peculiar/x509, so a relay
// with OCSP off never pays for the schemas; synchronous (CommonJS packages) so the
// readers stay plain functions.

export interface OcspLibrary {
  ocsp: typeof Ocsp;
  schema: typeof Schema;
  x509: typeof X509Asn;
}

let loaded: OcspLibrary | undefined;

export function ocspLibrary(): OcspLibrary {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    loaded = {
      ocsp: require('@peculiar/asn1-ocsp') as typeof Ocsp,
      schema: require('@peculiar/asn1-schema') as typeof Schema,
      x509: require('@peculiar/asn1-x509') as typeof X509Asn,
    };
  }
  return loaded;
}

/** A copy over an ArrayBuffer of its own: the library must never see Node's shared Buffer pool. */
export const ownBytes = (bytes: Buffer): ArrayBuffer => new Uint8Array(bytes).buffer;
