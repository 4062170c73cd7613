import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { domainOfAddress } from '../config/domain.js';
import { notifies } from './notices.js';
import { readReturnedContent, type ReturnedContent } from './returnedContent.js';
import type { DsnReport, Envelope, NewMessage, QueuedRecipient } from './types.js';

export interface DsnOptions {
  /** Our host name: Reporting-MTA, and the domain of MAILER-DAEMON. */
  reportingMta: string;
  now: Date;
  /** The stored message; read only as far as needed, then destroyed. */
  original: Readable;
}

/** A DSN ready for the spool. */
export interface Dsn {
  /** Envelope for the spool: null sender, to the original sender. */
  message: NewMessage;
  /** The RFC 3464 report, CRLF line endings. */
  data: Buffer;
}

/** Header values are single lines: whatever reached an envelope cannot add a header. */
const MAX_FIELD_LENGTH = 900;

/** What the report says, by its Action: the subject, and the sentence before the recipients. */
const WORDING: Record<DsnReport['action'], { subject: string; intro: string }> = {
  failed: { subject: 'Undelivered Mail Returned to Sender', intro: 'Your message could not be delivered to the following recipients:' },
  delayed: {
    subject: 'Delayed Mail (still being retried)',
    intro: 'Your message has not been delivered yet to the following recipients. The relay keeps trying; you need not send it again:',
  },
  relayed: {
    subject: 'Successful Mail Delivery Report',
    intro:
      'Your message was passed on for the following recipients to a next hop that does not report delivery: you will get no notice when it is delivered, though you may still hear of a failure:',
  },
};

/**
 * The delivery status notification (RFC 3464) telling the sender what became of some
 * recipients: failed, delayed or relayed. Undefined when nobody is to be told: the null
 * sender (a DSN is never answered with a DSN), or no recipient in the report asked for
 * this kind of notice (NOTIFY, see notices.ts). A failure returns what RET asked for
 * (default: the headers); the other notices, and any notice of a REQUIRETLS message,
 * return the headers only. The DSN itself is an ordinary message: no REQUIRETLS.
 */
export async function buildDsn(envelope: Envelope, report: DsnReport, options: DsnOptions): Promise<Dsn | undefined> {
  const wanted = report.recipients.filter((recipient) => notifies(queuedRecipient(envelope, recipient.address), report.action));
  if (envelope.from === '' || wanted.length === 0) {
    options.original.destroy();
    return undefined;
  }
  const senderDomain = domainOfAddress(envelope.from);
  if (senderDomain === undefined) {
    options.original.destroy();
    throw new Error(`cannot return a DSN for ${envelope.id} to ${JSON.stringify(envelope.from)}: the sender has no valid domain`);
  }
  // a REQUIRETLS message's body never travels in a notice that itself goes without REQUIRETLS
  // (RFC 8689 §4.2.2): its headers are returned, whatever RET asked for
  const returned = await readReturnedContent(options.original, report.action === 'failed' && envelope.ret === 'FULL' && !envelope.requireTls ? 'message' : 'headers');
  // the same Action, fewer recipients: still the report it was
  const reported = { action: report.action, recipients: wanted } as DsnReport;
  return {
    // to an address that is not ASCII, the report is itself internationalised mail (RFC 6533)
    message: { from: '', recipients: [{ address: envelope.from, domain: senderDomain }], ...(isAscii(envelope.from) ? {} : { smtputf8: true as const }) },
    data: renderReport(envelope, reported, returned, options),
  };
}

function queuedRecipient(envelope: Envelope, address: string): QueuedRecipient | undefined {
  return envelope.recipients.find((rcpt) => rcpt.address === address);
}

type ReportedRecipient = DsnReport['recipients'][number];

function renderReport(envelope: Envelope, report: DsnReport, returned: ReturnedContent, options: DsnOptions): Buffer {
  const mta = field(options.reportingMta);
  const boundary = `=_tlsrelay_${randomBytes(12).toString('hex')}`;
  const status = deliveryStatus(envelope, report, mta);
  const international = !isAscii(status);
  const human = humanText(envelope, report, returned, mta);
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${mta}>`,
    `To: <${field(envelope.from)}>`,
    `Subject: ${WORDING[report.action].subject}`,
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
    const undelivered = report.action === 'relayed' ? '' : 'Undelivered ';
    const description = returned.kind === 'message' ? `${undelivered}Message` : `${undelivered}Message Headers`;
    const encoding = isAscii(returned.bytes) ? '7bit' : '8bit';
    parts.push(Buffer.from(lines([`--${boundary}`, `Content-Type: ${type}`, `Content-Transfer-Encoding: ${encoding}`, `Content-Description: ${description}`, '']), 'utf8'));
    parts.push(returned.bytes);
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return Buffer.concat(parts);
}

function humanText(envelope: Envelope, report: DsnReport, returned: ReturnedContent, mta: string): string {
  const recipients: ReportedRecipient[] = report.recipients;
  return [
    `This is the mail relay at ${mta}.`,
    '',
    WORDING[report.action].intro,
    '',
    ...recipients.map((recipient) => `<${field(recipient.address)}>: ${field(recipientText(recipient))}`),
    '',
    `Queue ID ${envelope.id}, received ${mailDate(new Date(envelope.receivedAt))}.`,
    returnedNote(returned, envelope),
  ].join('\r\n');
}

function recipientText(recipient: ReportedRecipient): string {
  const said = recipient.remoteMta ? `host ${recipient.remoteMta} said: ` : '';
  if ('willRetryUntil' in recipient) return `${said}${recipient.diagnostic}; the relay keeps trying until ${mailDate(new Date(recipient.willRetryUntil))}`;
  if (!('reason' in recipient)) return `${said}${recipient.diagnostic}`;
  switch (recipient.reason) {
    case 'rejected':
      return `${said}${recipient.diagnostic}`;
    case 'expired':
      return `delivery kept failing and was given up after ${recipient.attempts} attempts; the last error was: ${said}${recipient.diagnostic}`;
    case 'deleted':
      return recipient.diagnostic;
  }
}

function returnedNote(returned: ReturnedContent, envelope: Envelope): string {
  switch (returned.kind) {
    case 'message':
      return 'Your message is attached.';
    case 'headers':
      if (envelope.requireTls) return 'The headers of your message are attached; its body is not, because you sent it with REQUIRETLS and this notice travels without it.';
      return returned.tooBigForFull ? 'Your message is too big to return in full; its headers are attached.' : 'The headers of your message are attached.';
    case 'unreadable':
      return `Your message could not be read to attach it: ${field(returned.reason)}`;
  }
}

/** The message/delivery-status body: per-message fields, then one block per recipient. */
function deliveryStatus(envelope: Envelope, report: DsnReport, mta: string): string {
  const perMessage = [
    `Reporting-MTA: dns; ${mta}`,
    ...(envelope.envid ? [`Original-Envelope-Id: ${field(envelope.envid)}`] : []),
    `Arrival-Date: ${mailDate(new Date(envelope.receivedAt))}`,
  ];
  const recipients: ReportedRecipient[] = report.recipients;
  const perRecipient = recipients.map((recipient) => {
    const orcpt = queuedRecipient(envelope, recipient.address)?.orcpt;
    return [
      `Final-Recipient: ${addressType(recipient.address)}; ${field(recipient.address)}`,
      ...(orcpt ? [`Original-Recipient: ${originalRecipient(orcpt)}`] : []),
      `Action: ${report.action}`,
      `Status: ${recipient.status}`,
      ...(recipient.remoteMta ? [`Remote-MTA: dns; ${field(remoteMtaName(recipient.remoteMta))}`] : []),
      `Diagnostic-Code: ${/^[2-5]\d\d(?:[ -]|$)/.test(recipient.diagnostic) ? 'smtp' : 'X-tlsrelay'}; ${field(recipient.diagnostic)}`,
      `Last-Attempt-Date: ${mailDate(new Date(recipient.lastAttemptAt))}`,
      ...('willRetryUntil' in recipient ? [`Will-Retry-Until: ${mailDate(new Date(recipient.willRetryUntil))}`] : []),
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
/**
 * RFC 3464 §2.3.5: Remote-MTA of type dns names the host — `mx.b.test` — without the
 * address and port the attempt record gives it (`mx.b.test[192.0.2.1]:25`). A host dialled
 * by its address is that address (`192.0.2.1`, `2001:db8::1`), as Postfix writes it.
 */
export function remoteMtaName(host: string): string {
  const named = /^([^[\]]+)\[[^\]]*\](?::\d+)?$/.exec(host) ?? /^\[([^\]]+)\](?::\d+)?$/.exec(host) ?? /^([^:[\]]+)(?::\d+)?$/.exec(host);
  return named?.[1] ?? host;
}

function field(value: string): string {
  const line = value.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return line.length > MAX_FIELD_LENGTH ? `${line.slice(0, MAX_FIELD_LENGTH)}...` : line;
}

/** RFC 5322 date-time, e.g. "Fri, 28 Nov 2025 12:30:00 +0000". */
export function mailDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

function isAscii(text: string | Buffer): boolean {
  return typeof text === 'string' ? !/[^\x00-\x7f]/.test(text) : text.every((byte) => byte < 0x80);
}

function lines(items: string[]): string {
  return items.map((item) => `${item}\r\n`).join('');
}
