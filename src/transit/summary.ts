import type { PolicySource } from '../policy/appliedPolicy.js';
import type { TlsResultType } from '../policy/resultTypes.js';
import { AUTHENTICATES } from '../policy/tlsDecision.js';
import type { CertVerdict } from '../queue/types.js';
import type { TransitRecord } from './record.js';

// What `report tls` says: per recipient domain, sessions and the messages they delivered,
// by TLS version, certificate verdict and policy source; failed sessions by their RFC 8460
// result type; and the share that was verified. Hosts a published policy deferred or
// skipped before dialling are no sessions: they are counted apart, and among the failures
// (as TLS-RPT counts them). Counted record by record, so that a report over a month of
// records needs no more memory than one over a day.

/** Sessions, and the messages they delivered. */
export interface Tally {
  sessions: number;
  messages: number;
}

/** The key for sessions without TLS in `tlsVersions`. */
export const PLAINTEXT = 'plaintext';

/** Hosts not dialled, one per delivery that would have used them, and the messages they were to carry then. */
export interface NotDialled {
  hosts: number;
  messages: number;
}

export interface TransitSummary {
  /** Sessions: records of hosts that were dialled. */
  sessions: number;
  /** Messages delivered in these sessions (a message deferred and tried again counts once, where it was delivered). */
  messages: number;
  /** Sessions whose certificate proved the next hop's identity (verified or pinned), and what they delivered. */
  verified: Tally;
  /** verified over all, 0 to 1; null when there was nothing to count. */
  verifiedShare: { sessions: number | null; messages: number | null };
  /** By negotiated protocol (`TLSv1.3`, …) or `plaintext`. */
  tlsVersions: Record<string, Tally>;
  verdicts: Partial<Record<CertVerdict, Tally>>;
  policies: Partial<Record<PolicySource, Tally>>;
  /** Sessions whose messages carried TLS-Required: No, so that published policies were waived for them. */
  tlsRequiredNo: Tally;
  /** Hosts a published policy deferred or skipped before dialling (their records have no `ip`). */
  notDialled: NotDialled;
  /** Sessions that fell short of their policy, and hosts not dialled, by what failed. */
  failures: Partial<Record<TlsResultType, Tally>>;
}

export interface DomainSummary extends TransitSummary {
  domain: string;
}

export interface TransitReport {
  /** ISO times: records from `since` (inclusive) to `until`. */
  since: string;
  until: string;
  /** Busiest first. */
  domains: DomainSummary[];
  /** Every domain of the report together. */
  total: TransitSummary;
}

function emptySummary(): TransitSummary {
  return {
    sessions: 0,
    messages: 0,
    verified: { sessions: 0, messages: 0 },
    verifiedShare: { sessions: null, messages: null },
    tlsVersions: {},
    verdicts: {},
    policies: {},
    tlsRequiredNo: { sessions: 0, messages: 0 },
    notDialled: { hosts: 0, messages: 0 },
    failures: {},
  };
}

function count<K extends string>(tallies: Partial<Record<K, Tally>>, key: K, messages: number): void {
  const tally = tallies[key] ?? { sessions: 0, messages: 0 };
  tally.sessions += 1;
  tally.messages += messages;
  tallies[key] = tally;
}

function add(summary: TransitSummary, record: TransitRecord): void {
  const messages = record.delivered;
  if (record.failure !== null) count(summary.failures, record.failure, messages);
  if (record.ip === null) {
    summary.notDialled.hosts += 1;
    summary.notDialled.messages += record.messages;
    return;
  }
  summary.sessions += 1;
  summary.messages += messages;
  if (AUTHENTICATES[record.verdict]) {
    summary.verified.sessions += 1;
    summary.verified.messages += messages;
  }
  count(summary.tlsVersions, record.tls?.protocol ?? PLAINTEXT, messages);
  count(summary.verdicts, record.verdict, messages);
  count(summary.policies, record.policy.source, messages);
  if (record.tlsRequiredNo === true) {
    summary.tlsRequiredNo.sessions += 1;
    summary.tlsRequiredNo.messages += messages;
  }
}

const share = (part: number, whole: number): number | null => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);

function finish<S extends TransitSummary>(summary: S): S {
  summary.verifiedShare = { sessions: share(summary.verified.sessions, summary.sessions), messages: share(summary.verified.messages, summary.messages) };
  return summary;
}

/** Feed it records with add(); report() says what they add up to. */
export class TransitTally {
  private readonly domains = new Map<string, DomainSummary>();
  private readonly total = emptySummary();

  add(record: TransitRecord): void {
    let domain = this.domains.get(record.domain);
    if (domain === undefined) {
      domain = { domain: record.domain, ...emptySummary() };
      this.domains.set(record.domain, domain);
    }
    add(domain, record);
    add(this.total, record);
  }

  report(since: Date, until: Date): TransitReport {
    const domains = [...this.domains.values()].map(finish).sort((a, b) => b.sessions - a.sessions || a.domain.localeCompare(b.domain));
    return { since: since.toISOString(), until: until.toISOString(), domains, total: finish(this.total) };
  }
}
