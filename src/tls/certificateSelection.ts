import type { X509Certificate } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { ServedCertificate } from './material.js';

// Which of our certificates a session gets. Inbound OpenSSL holds one certificate per key
// type (RSA, ECDSA, Ed25519) and picks among those by the client's signature algorithms;
// what goes in is chosen here, by the name the client asked for (SNI).

/** The DNS names the certificate holds: its SAN's, else its CN. */
function namesOf(leaf: X509Certificate): string[] {
  const san = (leaf.subjectAltName?.split(', ') ?? []).filter((entry) => entry.startsWith('DNS:')).map((entry) => entry.slice('DNS:'.length));
  if (san.length > 0) return san;
  const cn = /^CN=(.+)$/m.exec(leaf.subject)?.[1];
  return cn === undefined ? [] : [cn];
}

/** The first DNS name the certificate holds: the name it is served as. */
const firstName = (leaf: X509Certificate): string | undefined => namesOf(leaf)[0];

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

/**
 * Whether a handshake may serve `certificate` from one context with a certificate of
 * another key type — both hold a name (certificatesFor puts such pairs together), and
 * then the client's algorithms pick one of them only after the context is chosen.
 */
export function servedBesideOtherKeyType(certificate: ServedCertificate, certificates: readonly ServedCertificate[]): boolean {
  const type = certificate.leaf.publicKey.asymmetricKeyType;
  return certificates.some((other) => other.leaf.publicKey.asymmetricKeyType !== type && (holdsNameOf(other, certificate) || holdsNameOf(certificate, other)));
}

/** Whether `holder` holds a name of `named`'s, as written or (not a wildcard) by matching. */
function holdsNameOf(holder: ServedCertificate, named: ServedCertificate): boolean {
  const held = namesOf(holder.leaf).map((name) => name.toLowerCase());
  return namesOf(named.leaf).some((name) => held.includes(name.toLowerCase()) || (!name.includes('*') && holdsName(holder, name)));
}

/** What an outbound connector presents: `true` the first certificate, a name the pair so named, `false` none. */
export function clientCertificateFor(certificates: readonly ServedCertificate[], choice: boolean | string): ServedCertificate | undefined {
  if (choice === false) return undefined;
  return choice === true ? certificates[0] : certificates.find((certificate) => certificate.files.name === choice);
}
