import type { Envelope } from '../queue/types.js';

// The RFC 3461 parameters a message arrived with, as they go on to a next hop that
// advertises DSN (§5.2.1): NOTIFY and ORCPT of each recipient, RET and ENVID of the
// message, each exactly as the client gave it — and none the client did not give. Pure.

/** NOTIFY and ORCPT of one recipient, as given at RCPT (smtp-server has decoded the xtext). */
export interface RecipientDsn {
  notify?: string[];
  orcpt?: string;
}

export interface OutgoingDsn {
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** By recipient address, as in the envelope; a recipient without DSN parameters is absent. */
  recipients: Map<string, RecipientDsn>;
}

/** What of DSN the message carries on, or undefined when its client did not use DSN. */
export function outgoingDsn(envelope: Envelope): OutgoingDsn | undefined {
  const recipients = new Map<string, RecipientDsn>();
  for (const { address, notify, orcpt } of envelope.recipients) {
    const given = notify !== undefined && notify.length > 0;
    if (!given && orcpt === undefined) continue;
    recipients.set(address, { ...(given ? { notify } : {}), ...(orcpt !== undefined ? { orcpt } : {}) });
  }
  if (envelope.ret === undefined && envelope.envid === undefined && recipients.size === 0) return undefined;
  return { ...(envelope.ret ? { ret: envelope.ret } : {}), ...(envelope.envid !== undefined ? { envid: envelope.envid } : {}), recipients };
}

/** The RCPT TO parameters of one recipient, with their leading space: ` NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@b.test`, or ''. */
export function rcptDsnParameters(dsn: RecipientDsn | undefined): string {
  if (dsn === undefined) return '';
  const parameters: string[] = [];
  if (dsn.notify !== undefined && dsn.notify.length > 0) parameters.push(`NOTIFY=${dsn.notify.map((keyword) => keyword.toUpperCase()).join(',')}`);
  if (dsn.orcpt !== undefined) {
    // addr-type ";" xtext: the type is an atom, the address goes back into xtext
    const separator = dsn.orcpt.indexOf(';');
    const orcpt = separator < 0 ? `rfc822;${xtext(dsn.orcpt)}` : `${dsn.orcpt.slice(0, separator)};${xtext(dsn.orcpt.slice(separator + 1))}`;
    parameters.push(`ORCPT=${orcpt}`);
  }
  return parameters.map((parameter) => ` ${parameter}`).join('');
}

/**
 * RFC 3461 §4 xtext: "+", "=", controls, space and non-ASCII as "+HH". smtp-server decodes
 * each "+HH" into the character of that code, so characters up to U+00FF are the bytes the
 * client sent and go back as they came; anything above (which xtext cannot carry, but a
 * client may have sent raw) goes as its UTF-8 bytes.
 */
export function xtext(value: string): string {
  let encoded = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e && char !== '+' && char !== '=') encoded += char;
    else if (code <= 0xff) encoded += hex(code);
    else for (const byte of Buffer.from(char, 'utf8')) encoded += hex(byte);
  }
  return encoded;
}

function hex(byte: number): string {
  return `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}
