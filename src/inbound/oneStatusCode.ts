import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/** What smtp-server's `send` takes: the code, the text (lines for a multi-line reply), its context for the status code. */
export type Reply = Parameters<SMTPConnection['send']>;

/** An RFC 3463 code at the start of a reply text: class, subject, detail. */
const STATUS_CODE = /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/;

/**
 * What smtp-server is to send, so that every reply carries one enhanced status code.
 * With ENHANCEDSTATUSCODES on it writes a code of its own choosing in front of each text;
 * the relay's own replies carry theirs already, and often a different one
 * (`5.7.1 Relaying denied`, which it would make `550 5.1.1 5.7.1 Relaying denied`):
 * those are sent as they are. MAIL and RCPT are answered in Postfix's words,
 * `250 2.1.0 Ok` and `250 2.1.5 Ok`, not smtp-server's `Accepted`.
 */
export function withOneStatusCode([code, data, context]: Reply): Reply {
  if (context === 'MAIL_FROM_OK' || context === 'RCPT_TO_OK') return [code, 'Ok', context];
  if (typeof data === 'string' && STATUS_CODE.test(data)) return [code, data, false];
  return [code, data, context];
}
