import type { TLSSocket } from 'node:tls';
import type { ClientCertificateFacts } from '../policy/inbound.js';
import { certificateNames } from '../tls/certificateNames.js';
import type { RevocationList } from '../tls/crl.js';
import { checkRevocation, peerChain } from '../tls/revocation.js';

/** SAN DNS names of a peer certificate, else its (first) CN (RFC 6125 fallback). */
function namesOf(peer: Parameters<typeof certificateNames>[0]): string[] {
  const { dnsNames, commonNames } = certificateNames(peer);
  return dnsNames.length > 0 ? dnsNames : commonNames.slice(0, 1);
}

/** Why the chain is not trusted, or undefined when it is: OpenSSL's verdict, then the CRLs. */
function chainProblem(socket: TLSSocket, revocationLists: readonly RevocationList[]): string | undefined {
  if (!socket.authorized) return String(socket.authorizationError ?? 'not verified');
  const revocation = checkRevocation(peerChain(socket), revocationLists, new Date());
  return revocation.kind === 'good' ? undefined : revocation.reason;
}

/** What the client presented, judged against the trust and CRLs the listener was given. */
export function clientCertificateFacts(socket: TLSSocket, revocationLists: readonly RevocationList[]): ClientCertificateFacts | undefined {
  const peer = socket.getPeerCertificate();
  // getPeerCertificate() returns {} (not null) when the client sent none
  if (!peer || Object.keys(peer).length === 0) return undefined;
  const problem = chainProblem(socket, revocationLists);
  const facts: ClientCertificateFacts = {
    trusted: problem === undefined,
    names: namesOf(peer),
  };
  if (problem !== undefined) facts.error = problem;
  return facts;
}
