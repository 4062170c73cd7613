/** What Node tells of a failed inbound TLS handshake: OpenSSL's reason (`no shared cipher`) and Node's code (`ERR_SSL_NO_SHARED_CIPHER`). */
export interface HandshakeError {
  code?: string;
  /** OpenSSL's reason string, lower case; absent for socket errors. */
  reason?: string;
  /** The protocol version the client asked for, when OpenSSL got that far (`TLSv1.1`). */
  protocol?: string | null;
}

/** The code of the error a handshake deadline destroys the socket with (smtp-server's own too). */
export const HANDSHAKE_TIMEOUT_CODE = 'ERR_TLS_HANDSHAKE_TIMEOUT';

/** smtp-server's error when the socket closed before the handshake was done. */
const CLOSED_CODES = new Set(['SocketError', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** OpenSSL reasons for bytes that are not a TLS record at all. */
const NOT_TLS = new Set(['wrong version number', 'http request', 'https proxy request', 'unknown protocol', 'packet length too long', 'record layer failure']);

/** Reasons whose OpenSSL words need a plainer form; the others are plain enough as they are. */
const PLAIN: Record<string, string> = {
  'no shared cipher': 'no shared cipher',
  'no shared signature algorithms': 'no shared signature algorithm',
  'no suitable signature algorithm': 'no shared signature algorithm',
  'no suitable key share': 'no shared key exchange group',
  'no shared groups': 'no shared key exchange group',
  'inappropriate fallback': 'protocol downgrade attempt (inappropriate fallback)',
  'peer did not return a certificate': 'no client certificate',
  'unexpected eof while reading': 'connection closed during the handshake',
  'tlsv1 alert unknown ca': 'client sent an unknown CA alert',
};

/** `sslv3 alert bad certificate`, `tlsv1 alert decrypt error`: an alert the client sent. */
const CLIENT_ALERT = /^(?:sslv3|tlsv1[0-9]*) alert (.+)$/;

/**
 * A reason a person reads, for the log line of a failed inbound handshake, from what
 * OpenSSL said: `no shared cipher`, `unsupported protocol TLSv1.1`, `client sent a bad
 * certificate alert` (the client did not accept our certificate), `not TLS (plain text on a
 * TLS port)`. `listenerTls` says what the client should have done: implicit TLS from the
 * first byte, or a handshake after its STARTTLS.
 */
export function handshakeFailureReason(err: HandshakeError, listenerTls: 'implicit' | 'starttls'): string {
  if (err.code === HANDSHAKE_TIMEOUT_CODE) return 'handshake not finished within smtp.handshakeTimeout';
  const reason = err.reason?.toLowerCase();
  if (reason === undefined) return err.code !== undefined && CLOSED_CODES.has(err.code) ? 'connection closed during the handshake' : (err.code ?? 'unknown error');
  if (NOT_TLS.has(reason)) return listenerTls === 'implicit' ? 'not TLS (plain text on a TLS port)' : 'not TLS (plain text after STARTTLS)';
  if (reason === 'unsupported protocol' || reason === 'version too low') return err.protocol ? `unsupported protocol ${err.protocol}` : 'unsupported protocol';
  const plain = PLAIN[reason];
  if (plain) return plain;
  const alert = CLIENT_ALERT.exec(reason)?.[1];
  if (alert) return `client sent ${/^[aeiou]/.test(alert) ? 'an' : 'a'} ${alert} alert`;
  return reason;
}
