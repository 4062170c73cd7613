import type { InboundVerdict } from './inbound.js';

/** Postfix's reply (`smtpd_forbid_unauth_pipelining`); the session is closed after it. */
export const PROTOCOL_SYNCHRONIZATION: InboundVerdict = { ok: false, code: 554, message: '5.5.0 Error: SMTP protocol synchronization', reason: 'pipelining' };

/**
 * RFC 2920 §3.1: DATA ends a pipelined group — MAIL, RCPT and DATA may go in one packet,
 * but the message text only after the server's 354. A client that sends it sooner writes
 * blindly (spam software does, and so do smuggling attempts that count on two servers
 * reading the stream differently); from a session that may not relay it is refused, as
 * Postfix does. A session that may relay is the operator's own (the on-prem server, an
 * authenticated user): its text is taken as if it had come after the 354.
 */
export function checkTextBefore354(textBefore354: boolean, mayRelay: boolean): InboundVerdict {
  return textBefore354 && !mayRelay ? PROTOCOL_SYNCHRONIZATION : { ok: true };
}
