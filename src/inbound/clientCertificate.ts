import type { TLSSocket } from 'node:tls';
import type { ClientCertificateFacts, ClientOcsp } from '../policy/inbound.js';
import { certificateNames } from '../tls/certificateNames.js';
import type { RevocationList } from '../tls/crl.js';
import { checkChainOcsp, ocspChainError, type OcspSettings } from '../tls/ocsp/chainOcsp.js';
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

/** tls.ocsp on a chain that verified (clients do not staple); not checked when it is off or there is no issuer to ask about. */
async function ocspOf(socket: TLSSocket, ocsp: OcspSettings | undefined): Promise<ClientOcsp> {
  const result = ocsp === undefined ? undefined : await checkChainOcsp(peerChain(socket), undefined, ocsp);
  if (result === undefined) return { kind: 'not-checked' };
  if (result.kind === 'accept') return { kind: 'passed', note: result.note };
  return { kind: result.kind === 'refuse' ? 'revoked' : 'unconfirmed', reason: ocspChainError(result) };
}

/**
 * What the client presented, judged against the trust and CRLs the listener was given and,
 * under tls.ocsp, its issuer's responder: a certificate OCSP did not pass is not trusted.
 */
export async function clientCertificateFacts(socket: TLSSocket, revocationLists: readonly RevocationList[], ocsp: OcspSettings | undefined): Promise<ClientCertificateFacts | undefined> {
  const peer = socket.getPeerCertificate();
  // getPeerCertificate() returns {} (not null) when the client sent none
  if (!peer || Object.keys(peer).length === 0) return undefined;
  const names = namesOf(peer);
  const problem = chainProblem(socket, revocationLists);
  if (problem !== undefined) return { trusted: false, error: problem, names, ocsp: { kind: 'not-checked' } };
  const checked = await ocspOf(socket, ocsp);
  if (checked.kind === 'revoked' || checked.kind === 'unconfirmed') return { trusted: false, error: checked.reason, names, ocsp: checked };
  return { trusted: true, names, ocsp: checked };
}
