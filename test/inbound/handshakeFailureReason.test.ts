// What a person reads in the log for each way an inbound TLS handshake fails, from what
// Node and OpenSSL said (the fields as test/e2e/tlsHandshakeFailures.test.ts sees them).
import t from 'tap';
import { handshakeFailureReason, HANDSHAKE_TIMEOUT_CODE, type HandshakeError } from '../../src/inbound/handshakeFailureReason.js';

const cases: Array<[HandshakeError, 'implicit' | 'starttls', string]> = [
  [{ code: 'ERR_SSL_UNSUPPORTED_PROTOCOL', reason: 'unsupported protocol', protocol: 'TLSv1.1' }, 'implicit', 'unsupported protocol TLSv1.1'],
  [{ code: 'ERR_SSL_UNSUPPORTED_PROTOCOL', reason: 'unsupported protocol', protocol: null }, 'starttls', 'unsupported protocol'],
  [{ code: 'ERR_SSL_NO_SHARED_CIPHER', reason: 'no shared cipher', protocol: 'TLSv1.2' }, 'implicit', 'no shared cipher'],
  [{ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', reason: 'tlsv1 alert unknown ca' }, 'starttls', 'client sent an unknown CA alert'],
  [{ code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', reason: 'sslv3 alert bad certificate' }, 'implicit', 'client sent a bad certificate alert'],
  [{ code: 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR', reason: 'tlsv1 alert internal error' }, 'implicit', 'client sent an internal error alert'],
  [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER', reason: 'wrong version number' }, 'implicit', 'not TLS (plain text on a TLS port)'],
  [{ code: 'ERR_SSL_HTTP_REQUEST', reason: 'http request' }, 'implicit', 'not TLS (plain text on a TLS port)'],
  [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER', reason: 'wrong version number' }, 'starttls', 'not TLS (plain text after STARTTLS)'],
  [{ code: 'ERR_SSL_NO_SUITABLE_KEY_SHARE', reason: 'no suitable key share' }, 'implicit', 'no shared key exchange group'],
  [{ code: 'ERR_SSL_INAPPROPRIATE_FALLBACK', reason: 'inappropriate fallback' }, 'implicit', 'protocol downgrade attempt (inappropriate fallback)'],
  [{ code: 'ERR_SSL_BAD_KEY_SHARE', reason: 'bad key share' }, 'implicit', 'bad key share'],
  [{ code: 'SocketError' }, 'implicit', 'connection closed during the handshake'],
  [{ code: 'ECONNRESET' }, 'starttls', 'connection closed during the handshake'],
  [{ code: HANDSHAKE_TIMEOUT_CODE }, 'starttls', 'handshake not finished within smtp.handshakeTimeout'],
  [{ code: 'ERR_SOMETHING_NEW' }, 'implicit', 'ERR_SOMETHING_NEW'],
  [{}, 'implicit', 'unknown error'],
];

for (const [err, listenerTls, expected] of cases) {
  t.equal(handshakeFailureReason(err, listenerTls), expected, `${err.reason ?? err.code ?? 'nothing'} on a ${listenerTls} listener`);
}
