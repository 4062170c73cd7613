import { gzipSync } from 'node:zlib';
import type { AggregateReport } from './aggregateReport.js';
import { reportIdentity } from './aggregateReport.js';
import type { ReportPeriod } from './period.js';

// The report as it travels, by mail and by HTTPS alike: its JSON gzipped
// (application/tlsrpt+gzip, RFC 8460 §5.3), under the file name §5.3 recommends:
// submitter!policy-domain!begin-timestamp!end-timestamp!unique-id.json.gz.

export const REPORT_MEDIA_TYPE = 'application/tlsrpt+gzip';

export interface ReportFile {
  name: string;
  gzipped: Buffer;
}

export function reportFile(report: AggregateReport, domain: string, period: ReportPeriod, submitter: string): ReportFile {
  const { unique } = reportIdentity(domain, period, submitter);
  // begin inclusive, end exclusive, in seconds since the epoch
  const name = `${submitter}!${domain}!${Math.floor(period.start / 1000)}!${Math.floor(period.end / 1000)}!${unique}.json.gz`;
  return { name, gzipped: gzipSync(JSON.stringify(report)) };
}
