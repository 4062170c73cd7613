import type { InboundVerdict } from './inbound.js';

/** How the address in a MAIL FROM or RCPT TO command was written: in ASCII, in UTF-8, or in bytes that are neither. */
export type AddressCharset = 'ascii' | 'utf8' | 'not-utf8';

/**
 * RFC 6531 §3.4: an address that is not ASCII may be sent only in a transaction that
 * began with MAIL FROM … SMTPUTF8, and then only in UTF-8 (the first reply is Postfix's).
 */
export function checkAddressCharset(charset: AddressCharset, smtputf8: boolean): InboundVerdict {
  if (charset === 'ascii') return { ok: true };
  if (!smtputf8) return { ok: false, code: 553, message: '5.6.7 Must declare SMTPUTF8 to send unicode address', reason: 'address' };
  if (charset === 'not-utf8') return { ok: false, code: 553, message: '5.6.7 Malformed UTF-8 in address', reason: 'address' };
  return { ok: true };
}
