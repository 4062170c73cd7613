import type { Server } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { SMTPServer } from 'smtp-server';

/** The staple for the certificate a handshake serves (its DER), when there is a current one. */
export type StapleSource = (certificateDer: Buffer) => Buffer | undefined;

type OcspRequestCallback = (err: Error | null, response?: Buffer) => void;

/**
 * Staples OCSP responses on a listener's TLS handshakes, STARTTLS and implicit alike.
 *
 * smtp-server (3.21) makes each session's `tls.TLSSocket` itself, with `server:` its own
 * net.Server (createTLSSocketOptions). Node 20 (lib/_tls_wrap.js) asks for a staple
 * through that `server`: a TLSSocket enables its certificate callback when
 * `server.listenerCount('OCSPRequest') > 0`, and when the client asked for a status
 * (status_request), requestOCSP emits `OCSPRequest` on `server` with the certificate of
 * the context served — the SNI context (`_handle.sni_context`, which smtp-server's
 * SNICallback always sets when the client names a host), or else `server._sharedCreds`,
 * which only a tls.Server has: without it a client that sends no SNI would get no
 * staple. So the net.Server gets both: the listener, and `_sharedCreds` as the context
 * smtp-server serves by default (read at each handshake: a reload replaces it).
 * Checked with `openssl s_client -status` and Node's requestOCSP (test/e2e/ocspStapling).
 *
 * With an RSA and an ECDSA certificate in one context, Node names only the last one set
 * (its SecureContext keeps one certificate for getCertificate), before the client's
 * algorithms choose between them: the stapler staples neither of such a pair.
 */
export function stapleOn(server: SMTPServer, staples: StapleSource): void {
  const net = server.server as Server & { _sharedCreds?: SecureContext };
  Object.defineProperty(net, '_sharedCreds', { get: () => server.secureContext.get('*'), configurable: true });
  net.on('OCSPRequest', (certificate: Buffer, _issuer: Buffer | undefined, callback: OcspRequestCallback) => callback(null, staples(certificate)));
}
