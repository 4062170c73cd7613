import type { TLSSocket } from 'node:tls';
import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import { noCertificate, type ObservedSession, type ObservedTls } from '../policy/observedTls.js';
import type { ChainFailure } from '../policy/resultTypes.js';
import type { DaneObservation } from '../policy/tlsDecision.js';
import { certificateNames } from '../tls/certificateNames.js';
import type { RevocationList } from '../tls/crl.js';
import { describeTlsa, matchDane, type TlsaRecord } from '../tls/dane.js';
import { certificateFingerprints } from '../tls/fingerprints.js';
import { checkChainOcsp, ocspChainError, type OcspSettings } from '../tls/ocsp/chainOcsp.js';
import type { OcspResult } from '../tls/ocsp/ocspCheck.js';
import { checkRevocation, peerChain } from '../tls/revocation.js';
import { describeError, oneLine } from './replies.js';
import type { SmtpClient } from './smtpClient.js';

// Turns what a connection showed into the policy's ObservedTls: the chain with its
// revocation, the certificate's names and digests, the DANE match. The session runs with
// rejectUnauthorized: false and a no-op checkServerIdentity, so `authorized` is the chain
// alone; the connector's names and pins are applied to it (judgeObserved) before any MAIL.

export interface ChainExpectations {
  /** Each applies to the certificates of its issuer (tls/revocation.ts). */
  revocationLists: RevocationList[];
  /** The host's usable secure TLSA records and the names a DANE-TA chain must bear, when DANE judges it. */
  dane?: { records: TlsaRecord[]; referenceNames: string[] };
}

/** The chain as presented, against the TLSA records; the matching record as logs show it, or why none matched. */
function daneVerdict(socket: TLSSocket, dane: NonNullable<ChainExpectations['dane']>): DaneObservation {
  const chain = peerChain(socket).map((certificate) => certificate.raw);
  const match = matchDane(dane.records, chain, dane.referenceNames, new Date());
  return match.kind === 'matched' ? { kind: 'matched', record: describeTlsa(match.record) } : { kind: 'failed', reason: match.reason };
}

/**
 * OpenSSL's verify codes in words (the code stays in the text for searching), and the
 * RFC 8460 result type of each; a code not listed is a `validation-failure`.
 */
const VERIFY_ERRORS: Record<string, { words: string; type: ChainFailure }> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: { words: 'self-signed certificate', type: 'certificate-not-trusted' },
  SELF_SIGNED_CERT_IN_CHAIN: { words: 'self-signed certificate in the chain', type: 'certificate-not-trusted' },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: { words: 'issuer not trusted', type: 'certificate-not-trusted' },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: { words: 'issuer not trusted', type: 'certificate-not-trusted' },
  UNABLE_TO_GET_ISSUER_CERT: { words: 'issuer not trusted', type: 'certificate-not-trusted' },
  CERT_HAS_EXPIRED: { words: 'certificate has expired', type: 'certificate-expired' },
  CERT_NOT_YET_VALID: { words: 'certificate is not yet valid', type: 'validation-failure' },
};

function verifyCode(error: unknown): string {
  // typed as Error, but Node hands over the OpenSSL code as a string
  return error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
}

export function describeVerifyError(error: unknown): string {
  const code = verifyCode(error);
  const known = VERIFY_ERRORS[code];
  return known === undefined ? code : `${known.words} (${code})`;
}

/** The chain as OpenSSL verified it (without CRLs), then revocation per issuer. */
function chainVerdict(socket: TLSSocket, revocationLists: RevocationList[]): Pick<ObservedSession, 'chainValid' | 'chainError' | 'chainFailure'> {
  if (!socket.authorized) {
    const failure = VERIFY_ERRORS[verifyCode(socket.authorizationError)]?.type ?? 'validation-failure';
    return { chainValid: false, chainError: describeVerifyError(socket.authorizationError), chainFailure: failure };
  }
  const revocation = checkRevocation(peerChain(socket), revocationLists, new Date());
  // a revoked certificate chains to a trusted root: RFC 8460 has only the general type for it
  return revocation.kind === 'good' ? { chainValid: true } : { chainValid: false, chainError: revocation.reason, chainFailure: 'validation-failure' };
}

function established(socket: TLSSocket, expected: ChainExpectations): ObservedSession {
  const protocol = socket.getProtocol() ?? 'unknown';
  const cipher = socket.getCipher()?.name ?? 'unknown';
  const cert = socket.getPeerCertificate(true);
  // getPeerCertificate returns {} rather than null when there is none
  if (!cert || !Buffer.isBuffer(cert.raw)) return noCertificate(protocol, cipher, expected.dane !== undefined);
  const fingerprints = certificateFingerprints(cert.raw);
  return {
    kind: 'established',
    protocol,
    cipher,
    ...chainVerdict(socket, expected.revocationLists),
    certificate: { ...certificateNames(cert), sha256: fingerprints.certificate, spkiSha256: fingerprints.publicKey },
    ...(expected.dane ? { dane: daneVerdict(socket, expected.dane) } : {}),
  };
}

/** What an open session shows: TLS up, STARTTLS never offered, or offered and refused. */
export function observeSession(client: SmtpClient, expected: ChainExpectations): ObservedTls {
  const socket = client.tlsSocket();
  if (socket) return established(socket, expected);
  if (!client.starttlsAdvertised()) return { kind: 'starttls-not-offered' };
  const reply = oneLine(client.lastReply());
  // 421 means the peer is closing (RFC 5321 4.2); nodemailer drops the session right after
  return { kind: 'starttls-refused', reply, closed: /^421\b/.test(reply) || !client.isOpen() };
}

/** A failed handshake in words: OpenSSL's reason when there is one, else nodemailer's message. */
export function observeHandshakeFailure(error: SMTPError): ObservedTls {
  const reason = (error as { reason?: unknown }).reason;
  return { kind: 'handshake-failed', reason: typeof reason === 'string' ? reason : describeError(error) };
}

/**
 * A session whose chain verified, checked by OCSP under tls.ocsp (the staple first): a
 * refusal, or under `hard` no answer, makes the chain invalid as a revoking CRL does, so
 * the level decides. Anything else is left as it was: a chain already invalid has nothing
 * for OCSP to add.
 */
export async function withPeerOcsp(client: SmtpClient, observed: ObservedTls, settings: OcspSettings | undefined): Promise<{ observed: ObservedTls; ocsp?: OcspResult }> {
  const socket = client.tlsSocket();
  if (settings === undefined || socket === undefined || observed.kind !== 'established' || !observed.chainValid) return { observed };
  const staple = client.stapledOcsp;
  const ocsp = await checkChainOcsp(peerChain(socket), staple.kind === 'stapled' ? staple.response : undefined, settings);
  if (ocsp === undefined) return { observed };
  if (ocsp.kind === 'accept') return { observed, ocsp };
  // revoked, like a CRL's CERT_REVOKED, has only RFC 8460's general type
  return { observed: { ...observed, chainValid: false, chainError: ocspChainError(ocsp), chainFailure: 'validation-failure' }, ocsp };
}
