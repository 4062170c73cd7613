import { randomBytes } from 'node:crypto';
import { domainOfAddress } from '../config/domain.js';
import { mailDate } from '../queue/dsn.js';
import type { NewMessage } from '../queue/types.js';
import { REPORT_MEDIA_TYPE, type ReportFile } from './reportFile.js';

// A report by mail (RFC 8460 §5.3): multipart/report with report-type=tlsrpt, a short
// text part and the gzipped report as an attachment, the TLS-Report-Domain and
// TLS-Report-Submitter headers, and TLS-Required: No (RFC 8689 §5), so that a report
// about a broken TLS setup still reaches a domain whose policy that setup breaks.

export interface ReportMail {
  domain: string;
  submitter: string;
  reportId: string;
  /** tlsRpt.contact: envelope sender and From. */
  contact: string;
  /** The mailto: address. */
  to: string;
  file: ReportFile;
  now: Date;
}

/** Base64 in lines of 76 (RFC 2045 §6.8). */
function base64Lines(bytes: Buffer): string[] {
  return bytes.toString('base64').match(/.{1,76}/g) ?? [];
}

/** The envelope (flagged as a TLS report, so its sessions are never counted) and the message, CRLF line endings. */
export function reportMessage(mail: ReportMail): { message: NewMessage; data: Buffer } {
  const boundary = `=_tlsrpt_${randomBytes(12).toString('hex')}`;
  const lines = [
    `From: <${mail.contact}>`,
    `To: <${mail.to}>`,
    `Subject: Report Domain: ${mail.domain} Submitter: ${mail.submitter} Report-ID: <${mail.reportId}>`,
    `Date: ${mailDate(mail.now)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${mail.submitter}>`,
    `TLS-Report-Domain: ${mail.domain}`,
    `TLS-Report-Submitter: ${mail.submitter}`,
    'TLS-Required: No',
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=tlsrpt; boundary="${boundary}"`,
    '',
    'This is a multi-part message in MIME format.',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    '',
    `This is an aggregate TLS report (RFC 8460) from ${mail.submitter} for ${mail.domain}.`,
    `--${boundary}`,
    `Content-Type: ${REPORT_MEDIA_TYPE}`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${mail.file.name}"`,
    '',
    ...base64Lines(mail.file.gzipped),
    `--${boundary}--`,
    '',
  ];
  return {
    message: { from: mail.contact, recipients: [{ address: mail.to, domain: domainOfAddress(mail.to) ?? '' }], tlsReport: true },
    data: Buffer.from(lines.join('\r\n'), 'ascii'),
  };
}
