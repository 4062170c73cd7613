import type { X509Certificate } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { ServedCertificate } from './material.js';

// Which of our certificates a session gets. Inbound OpenSSL holds one certificate per key
// type (RSA, ECDSA, Ed25519) and picks among those by the client's signature algorithms;
// what goes in is chosen here, by the name the client asked for (SNI).

/** The first DNS name the certificate holds (SAN, else CN): the name it is served as. */
function firstName(leaf: X509Certificate): string | undefined {
  const san = leaf.subjectAltName?.split(', ').find((entry) => entry.startsWith('DNS:'));
  if (san !== undefined) return san.slice('DNS:'.length);
  return /^CN=(.+)$/m.exec(leaf.subject)?.[1];
}

function holdsName(certificate: ServedCertificate, name: string): boolean {
  return certificate.leaf.checkHost(name) !== undefined;
}

/** Of each key type, the first in the list: OpenSSL would keep only the last of a type. */
function firstOfEachKeyType(certificates: readonly ServedCertificate[]): ServedCertificate[] {
  const types = new Set<string | undefined>();
  return certificates.filter((certificate) => {
    const type = certificate.leaf.publicKey.asymmetricKeyType;
    if (types.has(type)) return false;
    types.add(type);
    return true;
  });
}

/**
 * The certificates served to a client that asked for `servername` (undefined: it sent no
 * SNI): of each key type, the first that holds that name. A client that asks for no name,
 * or for one none holds, is served as if it had asked for the first certificate's name:
 * that one, and those of other key types for the same name.
 */
export function certificatesFor(certificates: readonly ServedCertificate[], servername: string | undefined): ServedCertificate[] {
  const [first] = certificates;
  if (first === undefined) return [];
  // smtp-server hands over the Unicode form; certificates hold the ASCII one
  const asked = servername === undefined ? '' : domainToASCII(servername);
  const asking = asked === '' ? [] : certificates.filter((certificate) => holdsName(certificate, asked));
  if (asking.length > 0) return firstOfEachKeyType(asking);
  const name = firstName(first.leaf);
  const twins = name === undefined ? [] : certificates.filter((certificate) => certificate !== first && holdsName(certificate, name));
  return firstOfEachKeyType([first, ...twins]);
}

/** What an outbound connector presents: `true` the first certificate, a name the pair so named, `false` none. */
export function clientCertificateFor(certificates: readonly ServedCertificate[], choice: boolean | string): ServedCertificate | undefined {
  if (choice === false) return undefined;
  return choice === true ? certificates[0] : certificates.find((certificate) => certificate.files.name === choice);
}
