import type { DnsLookups } from '../outbound/resolver.js';
import { readReportingPolicy, type ReportingPolicy } from './reportingPolicy.js';

/** What `_smtp._tls.DOMAIN` says, or `temporary` when the lookup failed and is to be tried again. */
export type PolicyLookup = ReportingPolicy | { kind: 'temporary'; reason: string };

export const reportingPolicyName = (domain: string): string => `_smtp._tls.${domain}`;

export async function lookupReportingPolicy(lookups: Pick<DnsLookups, 'txt'>, domain: string): Promise<PolicyLookup> {
  const name = reportingPolicyName(domain);
  const answer = await lookups.txt(name);
  switch (answer.kind) {
    case 'found':
      return readReportingPolicy(answer.records);
    case 'nodata':
      return { kind: 'none', reason: `${name} has no TXT record` };
    case 'nxdomain':
      return { kind: 'none', reason: `${name} does not exist (NXDOMAIN)` };
    case 'temporary':
      return { kind: 'temporary', reason: `the TXT lookup of ${name} failed: ${answer.error}` };
  }
}
