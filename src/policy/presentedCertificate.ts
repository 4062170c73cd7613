import { parseIp } from '../config/ip.js';
import { certificateNameCovers } from './names.js';

// The identity a next hop's certificate claims, as plain facts: the names a connector's
// `verify` checks and the digests its `fingerprints` pin. Kept apart from any connector's
// expectations, so that a session can be judged again under other names and pins — by the
// live session and by `policy what-if`'s replay of the transit record, with one function.

/** What the next hop's certificate names and what it hashes to. */
export interface PresentedCertificate {
  /** The subjectAltName DNS entries, as the certificate writes them. */
  dnsNames: string[];
  /** The subjectAltName IP Address entries. */
  ipAddresses: string[];
  /** The subject's CN values: a host name counts only when there is no DNS entry (RFC 6125 §6.4.4). */
  commonNames: string[];
  /** Lower-case hex SHA-256 of the certificate (DER) and of its SubjectPublicKeyInfo. */
  sha256: string;
  spkiSha256: string;
}

/** The same address: both IPv4-mapped or neither, as Node's checkServerIdentity compares them. */
function sameIp(a: string, b: string): boolean {
  const left = parseIp(a);
  const right = parseIp(b);
  return left !== undefined && right !== undefined && left.address === right.address && left.mapped === right.mapped;
}

/**
 * Whether the certificate is valid for `host` (a name or an IP, as dialled or as in
 * tlsNames), by the rules of Node's tls.checkServerIdentity: an IP against the IP entries;
 * a name against the DNS entries, or against the CN when there are none.
 */
export function certificateNamesHost(certificate: PresentedCertificate, host: string): boolean {
  if (parseIp(host) !== undefined) return certificate.ipAddresses.some((ip) => sameIp(ip, host));
  const names = certificate.dnsNames.length > 0 ? certificate.dnsNames : certificate.commonNames;
  return names.some((name) => certificateNameCovers(name, host));
}

/** `DNS:mx.test, IP Address:192.0.2.1`, else `CN=mx.test`: what a certificate shows of its names, in deferral texts. */
function namesShown(certificate: PresentedCertificate): string {
  const alternative = [...certificate.dnsNames.map((name) => `DNS:${name}`), ...certificate.ipAddresses.map((ip) => `IP Address:${ip}`)];
  return alternative.length > 0 ? alternative.join(', ') : `CN=${certificate.commonNames.join(', ') || 'undefined'}`;
}

/** Why the certificate fails the names a connector expects (tlsNames, else the host dialled). */
export function nameMismatchText(expected: readonly string[], certificate: PresentedCertificate): string {
  return `the certificate names none of ${expected.join(', ')} (it has ${namesShown(certificate)})`;
}

/** Whether the certificate or its public key is one of the pins (lower-case hex SHA-256). */
export function pinned(certificate: PresentedCertificate, fingerprints: readonly string[]): boolean {
  return fingerprints.includes(certificate.sha256) || fingerprints.includes(certificate.spkiSha256);
}
