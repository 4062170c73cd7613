// TLS reports as they arrive: RFC 8460's schema (test/tlsRpt/rfc8460-report.schema.json,
// written from §4.4) as an ajv validator, and the report taken out of a report mail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ajv } from 'ajv';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'tlsRpt', 'rfc8460-report.schema.json'), 'utf8')) as object;
const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);

/** The schema's complaints about `report`; [] when it is a valid RFC 8460 report. */
export function schemaErrors(report: unknown): string[] {
  return validate(report) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
}

/** A report mail taken apart: its header fields (names lower-cased, the first of each), the attachment's part header and name, the report. */
export interface ReportMailParts {
  headers: Record<string, string>;
  attachmentHeaders: Record<string, string>;
  fileName: string | undefined;
  report: Record<string, unknown>;
}

function headerFields(block: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon).toLowerCase()] ??= line.slice(colon + 1).trim();
  }
  return fields;
}

/** Reads a multipart/report mail (CRLF) whose attachment is the gzipped report in base64. */
export function readReportMail(data: string): ReportMailParts {
  const [head = '', ...bodyParts] = data.split('\r\n\r\n');
  const headers = headerFields(head);
  const boundary = /boundary="([^"]+)"/.exec(headers['content-type'] ?? '')?.[1];
  if (boundary === undefined) throw new Error(`no multipart boundary in ${headers['content-type']}`);
  const parts = bodyParts.join('\r\n\r\n').split(`--${boundary}`);
  const attachment = parts.find((part) => /Content-Type: application\/tlsrpt\+gzip/i.test(part));
  if (attachment === undefined) throw new Error('no application/tlsrpt+gzip part');
  const [partHead = '', ...partBody] = attachment.replace(/^\r\n/, '').split('\r\n\r\n');
  const attachmentHeaders = headerFields(partHead);
  const report = JSON.parse(gunzipSync(Buffer.from(partBody.join('').replace(/\s+/g, ''), 'base64')).toString('utf8')) as Record<string, unknown>;
  return { headers, attachmentHeaders, fileName: /filename="([^"]+)"/.exec(attachmentHeaders['content-disposition'] ?? '')?.[1], report };
}
