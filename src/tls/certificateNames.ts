import type { PeerCertificate } from 'node:tls';

// The names a peer certificate carries, read from Node's view of it (getPeerCertificate) as
// Node's own tls.checkServerIdentity reads them, so that a check made over these lists —
// now or when `policy what-if` replays the session — agrees with Node's.

export interface CertificateNames {
  /** subjectAltName DNS entries. */
  dnsNames: string[];
  /** subjectAltName IP Address entries. */
  ipAddresses: string[];
  /** The subject's CN values. */
  commonNames: string[];
}

/** A value Node wrote as a JSON string because it holds a comma, a quote or a control character. */
const JSON_STRING = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/;

/**
 * Node's subjectaltname text split into its entries (`DNS:a.test, IP Address:192.0.2.1`):
 * a quoted value is one value whatever it holds, so a URI entry cannot smuggle in a `, DNS:` one.
 */
export function splitAltNames(text: string): string[] {
  const entries: string[] = [];
  let entry = '';
  let offset = 0;
  while (offset < text.length) {
    const comma = text.indexOf(',', offset);
    const quote = text.indexOf('"', offset);
    if (quote !== -1 && (comma === -1 || quote < comma)) {
      entry += text.slice(offset, quote);
      const quoted = JSON_STRING.exec(text.slice(quote));
      // not as Node writes them: the rest is one entry that names nothing
      if (quoted === null) return [...entries, `${entry}${text.slice(quote)}`];
      entry += JSON.parse(quoted[0]) as string;
      offset = quote + quoted[0].length;
    } else if (comma !== -1) {
      entries.push(entry + text.slice(offset, comma));
      entry = '';
      offset = comma + 2;
    } else {
      entry += text.slice(offset);
      offset = text.length;
    }
  }
  return [...entries, entry];
}

/** The DNS and IP entries of the subjectAltName, and the CN values. */
export function certificateNames(certificate: Pick<PeerCertificate, 'subjectaltname' | 'subject'>): CertificateNames {
  const entries = certificate.subjectaltname ? splitAltNames(certificate.subjectaltname) : [];
  const cn: unknown = certificate.subject?.CN;
  const commonNames = Array.isArray(cn) ? cn.map(String) : typeof cn === 'string' ? [cn] : [];
  return {
    dnsNames: entries.filter((entry) => entry.startsWith('DNS:')).map((entry) => entry.slice(4)),
    ipAddresses: entries.filter((entry) => entry.startsWith('IP Address:')).map((entry) => entry.slice(11)),
    commonNames,
  };
}
