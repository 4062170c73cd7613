import type { TLSSocket } from 'node:tls';
import type { ClientCertificateFacts } from '../policy/inbound.js';

/** SAN DNS names of a peer certificate, else its CN (RFC 6125 fallback). */
function namesOf(subjectaltname: string | undefined, commonName: string | string[] | undefined): string[] {
  const sans = (subjectaltname ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
  if (sans.length > 0) return sans;
  const cn = Array.isArray(commonName) ? commonName[0] : commonName;
  return cn ? [cn] : [];
}

/** What the client presented, judged against the trust the listener was given. */
export function clientCertificateFacts(socket: TLSSocket): ClientCertificateFacts | undefined {
  const peer = socket.getPeerCertificate();
  // getPeerCertificate() returns {} (not null) when the client sent none
  if (!peer || Object.keys(peer).length === 0) return undefined;
  const facts: ClientCertificateFacts = {
    trusted: socket.authorized,
    names: namesOf(peer.subjectaltname, peer.subject?.CN),
  };
  if (!socket.authorized && socket.authorizationError) facts.error = String(socket.authorizationError);
  return facts;
}
