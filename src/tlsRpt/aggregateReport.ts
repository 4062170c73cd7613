import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { AppliedPolicy } from '../policy/appliedPolicy.js';
import type { TlsResultType } from '../policy/resultTypes.js';
import type { TransitRecord } from '../transit/record.js';
import type { ReportPeriod } from './period.js';

// The aggregate report of RFC 8460 §4 for one recipient domain and one period, counted
// from the transit record: one entry per policy that governed sessions to the domain,
// its sessions that succeeded and failed, and the failures grouped by what failed, from
// where to where. Pure: the records are read and the report sent elsewhere.

export type PolicyType = 'sts' | 'tlsa' | 'no-policy-found';

/** §4.4 "policy": the policy as the sender applied it. */
export interface ReportedPolicy {
  'policy-type': PolicyType;
  'policy-string'?: string[];
  'policy-domain': string;
  'mx-host'?: string[];
}

export interface FailureDetails {
  'result-type': TlsResultType;
  'sending-mta-ip'?: string;
  'receiving-mx-hostname'?: string;
  /** Absent for a host never dialled (a published policy deferred or skipped it first): RFC 8460 §4.4 leaves it optional. */
  'receiving-ip'?: string;
  'failed-session-count': number;
}

export interface PolicyReport {
  policy: ReportedPolicy;
  summary: { 'total-successful-session-count': number; 'total-failure-session-count': number };
  'failure-details'?: FailureDetails[];
}

export interface AggregateReport {
  'organization-name': string;
  'date-range': { 'start-datetime': string; 'end-datetime': string };
  'contact-info': string;
  'report-id': string;
  policies: PolicyReport[];
}

/** Who reports: `submitter` is the relay's host name (TLS-Report-Submitter, the right side of the report-id). */
export interface Reporter {
  organization: string;
  contact: string;
  submitter: string;
}

/**
 * The id of one domain's report for one period: the same on every try, so that a report
 * sent again (after a crash between sending and noting it) is told for the same one.
 * `unique` is the filename's unique-id (RFC 8460 §5.3: letters and digits).
 */
export function reportIdentity(domain: string, period: ReportPeriod, submitter: string): { reportId: string; unique: string } {
  const unique = createHash('sha256').update(`${domain} ${period.start} ${period.end} ${submitter}`).digest('hex').slice(0, 20);
  return { reportId: `${Math.floor(period.start / 1000)}.${unique}@${submitter}`, unique };
}

/** RFC 3339 in whole seconds, as RFC 8460's examples write it. */
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** RFC 8460's policy for the one the record says governed the session. The operator's own connector level is no published policy. */
function reportedPolicy(applied: AppliedPolicy, domain: string, host: string): ReportedPolicy {
  switch (applied.source) {
    case 'dane':
      return { 'policy-type': 'tlsa', 'policy-string': applied.tlsa, 'policy-domain': domain, 'mx-host': [host] };
    case 'mta-sts':
      return { 'policy-type': 'sts', 'policy-string': applied.policyText, 'policy-domain': domain, 'mx-host': applied.mx };
    case 'none':
    case 'connector':
      return { 'policy-type': 'no-policy-found', 'policy-domain': domain };
  }
}

/**
 * Whether a session counts, and how: a failure when its record names one (RFC 8460
 * result type); a success when it ran TLS and nothing fell short. A session in plaintext
 * that no policy asked TLS of (a `none` connector, or an opportunistic next hop without
 * STARTTLS, or the plaintext retry after a failed handshake, whose failure the broken
 * session before it reports) is neither: RFC 8460 counts TLS sessions. Sessions that
 * carried nothing but the relay's own reports are left out (§5.3), and so are sessions
 * for which `TLS-Required: No` waived the domain's published policies (RFC 8689 §4.3):
 * they neither met nor failed those policies, and reporting them as `no-policy-found`
 * would tell the domain its policy was not found. A host never dialled (a published
 * policy deferred or skipped it) is a failed session without a receiving IP.
 */
function countAs(record: TransitRecord): 'success' | 'failure' | 'none' {
  if ((record.tlsReports ?? 0) >= record.messages) return 'none';
  if (record.tlsRequiredNo === true) return 'none';
  if (record.failure !== null) return 'failure';
  return record.tls === null ? 'none' : 'success';
}

interface PolicyTally {
  report: PolicyReport;
  failures: Map<string, FailureDetails>;
}

/**
 * The report for `domain` over `period` from the records of its sessions in that period;
 * undefined when none of them counts (nothing to report).
 */
export function buildAggregateReport(domain: string, period: ReportPeriod, records: readonly TransitRecord[], reporter: Reporter): AggregateReport | undefined {
  const policies = new Map<string, PolicyTally>();
  for (const record of records) {
    const counted = countAs(record);
    if (counted === 'none') continue;
    const policy = reportedPolicy(record.policy, domain, record.host);
    const key = JSON.stringify(policy);
    let tally = policies.get(key);
    if (tally === undefined) {
      tally = { report: { policy, summary: { 'total-successful-session-count': 0, 'total-failure-session-count': 0 } }, failures: new Map() };
      policies.set(key, tally);
    }
    if (counted === 'success') {
      tally.report.summary['total-successful-session-count'] += 1;
      continue;
    }
    tally.report.summary['total-failure-session-count'] += 1;
    const detail: FailureDetails = {
      'result-type': record.failure!,
      ...(record.sourceIp === undefined ? {} : { 'sending-mta-ip': record.sourceIp }),
      // a smart host dialled by its address has no host name to report
      ...(isIP(record.host) === 0 ? { 'receiving-mx-hostname': record.host } : {}),
      ...(record.ip === null ? {} : { 'receiving-ip': record.ip }),
      'failed-session-count': 0,
    };
    const detailKey = JSON.stringify({ ...detail, 'failed-session-count': undefined });
    const counting = tally.failures.get(detailKey) ?? detail;
    counting['failed-session-count'] += 1;
    tally.failures.set(detailKey, counting);
  }
  if (policies.size === 0) return undefined;
  const { reportId } = reportIdentity(domain, period, reporter.submitter);
  return {
    'organization-name': reporter.organization,
    // the end as the RFC's examples give it: the last second of the period
    'date-range': { 'start-datetime': rfc3339(period.start), 'end-datetime': rfc3339(period.end - 1000) },
    'contact-info': reporter.contact,
    'report-id': reportId,
    policies: [...policies.values()].map(({ report, failures }) => (failures.size === 0 ? report : { ...report, 'failure-details': [...failures.values()] })),
  };
}
