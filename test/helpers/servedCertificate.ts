// What certificate a listener serves, as real TLS clients see it: Node's tls.connect and
// openssl s_client, each with the names and algorithms it offers.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { KeyPair } from './pki.js';
import { runTool } from './tools.js';

/** SHA-256 of a certificate, in the colon form Node and OpenSSL print. */
export function fingerprintOf(pair: KeyPair): string {
  return new X509Certificate(pair.cert).fingerprint256;
}

/** A TLS session to an implicit-TLS listener, open until the caller ends it. */
export async function openTls(port: number, options: Omit<ConnectionOptions, 'host' | 'port'> = {}): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
  await once(socket, 'secureConnect');
  return socket;
}

/** The fingerprint of the certificate a new session to an implicit-TLS listener gets. */
export async function servedFingerprint(port: number, options: Omit<ConnectionOptions, 'host' | 'port'> = {}): Promise<string> {
  const socket = await openTls(port, options);
  const { fingerprint256 } = socket.getPeerCertificate();
  socket.destroy();
  return fingerprint256;
}

/**
 * The fingerprint of the certificate openssl s_client got, with its own options
 * (`-sigalgs`, `-cipher`, `-servername`); `starttls` for a STARTTLS listener.
 */
export async function fingerprintForOpenssl(port: number, options: string[], starttls = false): Promise<string> {
  const { output } = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...(starttls ? ['-starttls', 'smtp'] : []), ...options]);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(output)?.[0];
  if (pem === undefined) throw new Error(`openssl s_client ${options.join(' ')} got no certificate:\n${output}`);
  return new X509Certificate(pem).fingerprint256;
}
