import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { domainOfAddress } from '../config/domain.js';
import { readReturnedContent, type ReturnedContent } from './returnedContent.js';
import type { BouncedRecipient, Envelope, NewMessage } from './types.js';

export interface BounceOptions {
  /** Our host name: Reporting-MTA, and the domain of MAILER-DAEMON. */
  reportingMta: string;
  now: Date;
  /** The stored message; read only as far as needed, then destroyed. */
  original: Readable;
}

export interface Bounce {
  /** Envelope for the spool: null sender, to the original sender. */
  message: NewMessage;
  /** The RFC 3464 report, CRLF line endings. */
  data: Buffer;
}

/** Header values are single lines: whatever reached an envelope cannot add a header. */
const MAX_FIELD_LENGTH = 900;

/**
 * The delivery status notification (RFC 3464) telling the sender which recipients
 * failed and why. Undefined when nobody is to be told: the null sender (a bounce is
 * never bounced), or every failed recipient asked NOTIFY without FAILURE / NEVER.
 */
export async function buildBounce(envelope: Envelope, failed: BouncedRecipient[], options: BounceOptions): Promise<Bounce | undefined> {
  const reported = failed.filter((recipient) => wantsFailureNotice(envelope, recipient.address));
  if (envelope.from === '' || reported.length === 0) {
    options.original.destroy();
    return undefined;
  }
  const senderDomain = domainOfAddress(envelope.from);
  if (senderDomain === undefined) {
    options.original.destroy();
    throw new Error(`cannot return a DSN for ${envelope.id} to ${JSON.stringify(envelope.from)}: the sender has no valid domain`);
  }
  const returned = await readReturnedContent(options.original, envelope.ret === 'FULL' ? 'message' : 'headers');
  return {
    message: { from: '', recipients: [{ address: envelope.from, domain: senderDomain }] },
    data: renderReport(envelope, reported, returned, options),
  };
}

/** RFC 3461: without NOTIFY the MTA decides (we report failures); NEVER or a list without FAILURE means no. */
function wantsFailureNotice(envelope: Envelope, address: string): boolean {
  const notify = envelope.recipients.find((rcpt) => rcpt.address === address)?.notify;
  if (!notify || notify.length === 0) return true;
  return notify.some((keyword) => keyword.toUpperCase() === 'FAILURE');
}

function renderReport(envelope: Envelope, reported: BouncedRecipient[], returned: ReturnedContent, options: BounceOptions): Buffer {
  const mta = field(options.reportingMta);
  const boundary = `=_tlsrelay_${randomBytes(12).toString('hex')}`;
  const status = deliveryStatus(envelope, reported, mta);
  const international = !isAscii(status);
  const human = humanText(envelope, reported, returned, mta);
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${mta}>`,
    `To: <${field(envelope.from)}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${mailDate(options.now)}`,
    `Message-ID: <${envelope.id}.${randomBytes(6).toString('hex')}@${mta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated delivery status notification.',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${isAscii(human) ? '7bit' : '8bit'}`,
    'Content-Description: Notification',
    '',
    human,
    `--${boundary}`,
    // RFC 6533: a report naming non-ASCII addresses is a global one.
    `Content-Type: message/${international ? 'global-' : ''}delivery-status`,
    'Content-Description: Delivery report',
    '',
    status,
  ];
  const parts: Buffer[] = [Buffer.from(lines(head), 'utf8')];
  if (returned.kind !== 'unreadable') {
    const type = returned.kind === 'message' ? 'message/rfc822' : 'text/rfc822-headers';
    const description = returned.kind === 'message' ? 'Undelivered Message' : 'Undelivered Message Headers';
    const encoding = isAscii(returned.bytes) ? '7bit' : '8bit';
    parts.push(Buffer.from(lines([`--${boundary}`, `Content-Type: ${type}`, `Content-Transfer-Encoding: ${encoding}`, `Content-Description: ${description}`, '']), 'utf8'));
    parts.push(returned.bytes);
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return Buffer.concat(parts);
}

function humanText(envelope: Envelope, reported: BouncedRecipient[], returned: ReturnedContent, mta: string): string {
  return [
    `This is the mail relay at ${mta}.`,
    '',
    'Your message could not be delivered to the following recipients:',
    '',
    ...reported.map((recipient) => `<${field(recipient.address)}>: ${field(failureText(recipient))}`),
    '',
    `Queue ID ${envelope.id}, received ${mailDate(new Date(envelope.receivedAt))}.`,
    returnedNote(returned),
  ].join('\r\n');
}

function failureText(recipient: BouncedRecipient): string {
  const said = recipient.remoteMta ? `host ${recipient.remoteMta} said: ` : '';
  switch (recipient.reason) {
    case 'rejected':
      return `${said}${recipient.diagnostic}`;
    case 'expired':
      return `delivery kept failing and was given up after ${recipient.attempts} attempts; the last error was: ${said}${recipient.diagnostic}`;
    case 'deleted':
      return recipient.diagnostic;
  }
}

function returnedNote(returned: ReturnedContent): string {
  switch (returned.kind) {
    case 'message':
      return 'Your message is attached.';
    case 'headers':
      return returned.tooBigForFull ? 'Your message is too big to return in full; its headers are attached.' : 'The headers of your message are attached.';
    case 'unreadable':
      return `Your message could not be read to attach it: ${field(returned.reason)}`;
  }
}

/** The message/delivery-status body: per-message fields, then one block per recipient. */
function deliveryStatus(envelope: Envelope, reported: BouncedRecipient[], mta: string): string {
  const perMessage = [
    `Reporting-MTA: dns; ${mta}`,
    ...(envelope.envid ? [`Original-Envelope-Id: ${field(envelope.envid)}`] : []),
    `Arrival-Date: ${mailDate(new Date(envelope.receivedAt))}`,
  ];
  const perRecipient = reported.map((recipient) => {
    const orcpt = envelope.recipients.find((rcpt) => rcpt.address === recipient.address)?.orcpt;
    return [
      `Final-Recipient: ${addressType(recipient.address)}; ${field(recipient.address)}`,
      ...(orcpt ? [`Original-Recipient: ${originalRecipient(orcpt)}`] : []),
      'Action: failed',
      `Status: ${recipient.status}`,
      ...(recipient.remoteMta ? [`Remote-MTA: dns; ${field(recipient.remoteMta)}`] : []),
      `Diagnostic-Code: ${/^[2-5]\d\d(?:[ -]|$)/.test(recipient.diagnostic) ? 'smtp' : 'X-tlsrelay'}; ${field(recipient.diagnostic)}`,
      `Last-Attempt-Date: ${mailDate(new Date(recipient.lastAttemptAt))}`,
    ].join('\r\n');
  });
  return [perMessage.join('\r\n'), ...perRecipient].join('\r\n\r\n');
}

/** ORCPT is "addr-type;address" (smtp-server has decoded the xtext already). */
function originalRecipient(orcpt: string): string {
  const separator = orcpt.indexOf(';');
  if (separator < 0) return `rfc822; ${field(orcpt)}`;
  return `${field(orcpt.slice(0, separator).trim())}; ${field(orcpt.slice(separator + 1).trim())}`;
}

function addressType(address: string): string {
  return isAscii(address) ? 'rfc822' : 'utf-8';
}

/** One line of printable text, bounded, so that no value can break the report's structure. */
function field(value: string): string {
  const line = value.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return line.length > MAX_FIELD_LENGTH ? `${line.slice(0, MAX_FIELD_LENGTH)}...` : line;
}

/** RFC 5322 date-time, e.g. "Fri, 28 Nov 2025 12:30:00 +0000". */
function mailDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

function isAscii(text: string | Buffer): boolean {
  return typeof text === 'string' ? !/[^\x00-\x7f]/.test(text) : text.every((byte) => byte < 0x80);
}

function lines(items: string[]): string {
  return items.map((item) => `${item}\r\n`).join('');
}
