import type { Envelope } from '../queue/types.js';
import type { Disposition } from './replies.js';

// Whether a next hop can take a message whose addresses, header or body are not 7-bit
// ASCII, and which MAIL FROM parameters tell it what is coming. Pure: decided after
// EHLO, before MAIL, from the envelope and the keywords the next hop listed.

/**
 * What a message asks of one SMTP extension: nothing; to be named because the client
 * named it, though nothing in the message needs it; or to be had (without it the message
 * cannot go to that next hop).
 */
export type ExtensionNeed = 'none' | 'declared' | 'required';

export interface ExtensionNeeds {
  smtputf8: ExtensionNeed;
  eightBitMime: ExtensionNeed;
}

/** What the next hop's EHLO listed. */
export interface OfferedExtensions {
  smtputf8: boolean;
  eightBitMime: boolean;
}

export type MailParameters =
  /** MAIL FROM goes out, with SMTPUTF8 and BODY=8BITMIME where true. */
  | { kind: 'send'; smtputf8: boolean; eightBitMime: boolean }
  /** No MAIL FROM: the message cannot go to this next hop, a permanent failure for its recipients there. */
  | { kind: 'refused'; result: Disposition };

const notAscii = (text: string): boolean => /[^\x00-\x7f]/.test(text);

/**
 * What the message needs for one transaction (its sender and these recipients).
 * SMTPUTF8 is required for an address that is not ASCII (inbound keeps domains in
 * A-labels, so this is a UTF-8 local part), and for a header with 8-bit octets when the
 * client declared SMTPUTF8 (RFC 6532). 8BITMIME is required for a body with 8-bit octets
 * whatever BODY= said, and for an 8-bit header the client did not declare as UTF-8 —
 * legacy 8-bit mail, which Postfix also sends with BODY=8BITMIME. Envelopes written
 * before the relay kept the content require only what their addresses do.
 */
export function extensionNeeds(envelope: Envelope, recipients: readonly string[]): ExtensionNeeds {
  const header8bit = envelope.content?.header === '8bit';
  const body8bit = envelope.content?.body === '8bit';
  const utf8Address = notAscii(envelope.from) || recipients.some(notAscii);
  const declaredUtf8 = envelope.smtputf8 === true;
  return {
    smtputf8: utf8Address || (declaredUtf8 && header8bit) ? 'required' : declaredUtf8 ? 'declared' : 'none',
    eightBitMime: body8bit || (header8bit && !declaredUtf8) ? 'required' : envelope.body === '8BITMIME' ? 'declared' : 'none',
  };
}

/**
 * RFC 6531 §3.5 and RFC 6152 §3: what the next hop did not offer is never used, and a
 * message that requires it is not sent there (Postfix's texts: `5.6.7 SMTPUTF8 is
 * required, but was not offered by host H`). An 8-bit message is not converted to 7 bit:
 * that would break DKIM signatures over its body. What is offered is named when the
 * message requires it or the client declared it.
 */
export function mailParameters(needs: ExtensionNeeds, offered: OfferedExtensions, host: string): MailParameters {
  if (needs.smtputf8 === 'required' && !offered.smtputf8) return refused(550, '5.6.7', 'SMTPUTF8', host);
  if (needs.eightBitMime === 'required' && !offered.eightBitMime) return refused(550, '5.6.3', '8BITMIME', host);
  return {
    kind: 'send',
    smtputf8: offered.smtputf8 && needs.smtputf8 !== 'none',
    eightBitMime: offered.eightBitMime && needs.eightBitMime !== 'none',
  };
}

function refused(code: number, status: string, extension: string, host: string): MailParameters {
  return { kind: 'refused', result: { outcome: 'bounced', code, response: `${code} ${status} ${extension} is required, but was not offered by host ${host}` } };
}
