import type { TlsLevel } from '../config/types.js';
import type { PolicySource } from '../policy/appliedPolicy.js';
import type { ConnectorChanges } from '../policy/connectorChanges.js';
import type { TlsResultType } from '../policy/resultTypes.js';
import type { CertVerdict } from '../queue/types.js';
import type { TransitRecord } from './record.js';
import { replaySession, type DeferralReason, type ReplayOutcome, type ReplayTarget, type UnknownReason } from './replay.js';
import { PLAINTEXT, type Tally } from './summary.js';

// What `policy what-if` says: per recipient domain whose connector another config changes,
// its recorded sessions replayed under the new one (replay.ts) and counted — what would
// still be delivered, and how differently; what would be deferred, grouped by reason with
// the hosts that gave it; what cannot be told from the record. Messages are those the
// recorded sessions delivered, as `report tls` counts them: a message deferred and tried
// again counts once, where it was delivered. Counted record by record, like report tls.

/** A connector as the comparison names it. */
export interface ConnectorSide {
  name: string;
  level: TlsLevel;
  /** The implicit default connector (no connector names the domain). */
  implicit: boolean;
}

/** What the comparison of the two configs says of one domain whose connector changes. */
export interface DomainComparison {
  current: ConnectorSide;
  next: ConnectorSide;
  changes: ConnectorChanges;
  target: ReplayTarget;
}

/** The comparison of a domain, or undefined when the other config gives it the same connector. */
export type CompareDomain = (domain: string) => DomainComparison | undefined;

/** One host that gave a reason, with the first deferral text it would have got. */
export interface HostDeferral extends Tally {
  host: string;
  text: string;
}

/** Deferrals for one reason; `messages` are those the sessions delivered then and would not have. */
export interface Deferral extends Tally {
  reason: DeferralReason;
  failure: TlsResultType;
  hosts: HostDeferral[];
}

/** How a session carries its mail: its protocol (or `plaintext`), the certificate's verdict, the policy that governs it. */
export interface DeliveryShape {
  tls: string;
  verdict: CertVerdict;
  policy: PolicySource;
}

/** Sessions that would still deliver, but not as they did. */
export interface Difference extends Tally {
  was: DeliveryShape;
  now: DeliveryShape;
}

export interface DomainWhatIf {
  domain: string;
  current: ConnectorSide;
  next: ConnectorSide;
  changes: ConnectorChanges;
  /** Recorded sessions (a host a published policy kept from being dialled counts as one that carried nothing), and the messages they delivered. */
  sessions: number;
  messages: number;
  /** Sessions that would still deliver; among them, `differently` those whose TLS, verdict or policy would change. */
  delivers: Tally;
  differently: Difference[];
  /** Sessions that would be deferred; `deferrals` by reason, most messages first. */
  defers: Tally;
  deferrals: Deferral[];
  /** Sessions whose TLS would break and be retried in plaintext: the retry's record carries their messages. */
  fallsBack: Tally;
  /** Sessions the current policy refused that would go ahead; `messages`: those they were to carry. */
  goesAhead: Tally;
  cannotTell: Tally & { reasons: Partial<Record<UnknownReason, Tally>> };
}

export interface WhatIfReport {
  /** ISO times: records from `since` (inclusive) to `until`. */
  since: string;
  until: string;
  /** Domains whose connector changes, most messages deferred first. */
  domains: DomainWhatIf[];
  /** Recorded domains the other config leaves as they are: not replayed. */
  unchanged: { domains: number; sessions: number };
  /** The domains of `domains` together. */
  total: { sessions: number; messages: number; defers: Tally; cannotTell: Tally };
}

const tally = (): Tally => ({ sessions: 0, messages: 0 });

function count(into: Tally, messages: number): void {
  into.sessions += 1;
  into.messages += messages;
}

function emptyDomain(domain: string, comparison: DomainComparison): DomainWhatIf {
  const { current, next, changes } = comparison;
  return {
    domain,
    current,
    next,
    changes,
    sessions: 0,
    messages: 0,
    delivers: tally(),
    differently: [],
    defers: tally(),
    deferrals: [],
    fallsBack: tally(),
    goesAhead: tally(),
    cannotTell: { ...tally(), reasons: {} },
  };
}

const sameShape = (a: DeliveryShape, b: DeliveryShape): boolean => a.tls === b.tls && a.verdict === b.verdict && a.policy === b.policy;

function countDifference(summary: DomainWhatIf, was: DeliveryShape, now: DeliveryShape, messages: number): void {
  if (sameShape(was, now)) return;
  let entry = summary.differently.find((difference) => sameShape(difference.was, was) && sameShape(difference.now, now));
  if (entry === undefined) {
    entry = { was, now, ...tally() };
    summary.differently.push(entry);
  }
  count(entry, messages);
}

function countDeferral(summary: DomainWhatIf, outcome: Extract<ReplayOutcome, { kind: 'defers' }>, host: string, messages: number): void {
  let deferral = summary.deferrals.find((entry) => entry.reason === outcome.reason && entry.failure === outcome.failure);
  if (deferral === undefined) {
    deferral = { reason: outcome.reason, failure: outcome.failure, hosts: [], ...tally() };
    summary.deferrals.push(deferral);
  }
  count(deferral, messages);
  let byHost = deferral.hosts.find((entry) => entry.host === host);
  if (byHost === undefined) {
    byHost = { host, text: outcome.text, ...tally() };
    deferral.hosts.push(byHost);
  }
  count(byHost, messages);
}

/** The current policy refused the session: it carried nothing, and what fell short is recorded. */
const refused = (record: TransitRecord): boolean => record.outcome === 'deferred' && record.delivered === 0 && record.failure !== null;

function add(summary: DomainWhatIf, record: TransitRecord, outcome: ReplayOutcome): void {
  const messages = record.delivered;
  summary.sessions += 1;
  summary.messages += messages;
  switch (outcome.kind) {
    case 'delivers': {
      if (refused(record)) return count(summary.goesAhead, record.messages);
      count(summary.delivers, messages);
      const was: DeliveryShape = { tls: record.tls?.protocol ?? PLAINTEXT, verdict: record.verdict, policy: record.policy.source };
      return countDifference(summary, was, { tls: outcome.tls?.protocol ?? PLAINTEXT, verdict: outcome.verdict, policy: outcome.policy.source }, messages);
    }
    case 'falls-back':
      return count(summary.fallsBack, messages);
    case 'defers':
      count(summary.defers, messages);
      return countDeferral(summary, outcome, record.host, messages);
    case 'cannot-tell': {
      count(summary.cannotTell, messages);
      const reasons = summary.cannotTell.reasons;
      const reason = reasons[outcome.reason] ?? tally();
      count(reason, messages);
      reasons[outcome.reason] = reason;
      return;
    }
  }
}

const byWeight = (a: Tally, b: Tally): number => b.messages - a.messages || b.sessions - a.sessions;

/** Feed it records with add(); report() says what they come to under the other config. */
export class WhatIfTally {
  private readonly comparisons = new Map<string, DomainComparison | undefined>();
  private readonly domains = new Map<string, DomainWhatIf>();
  private readonly unchanged = new Map<string, number>();

  constructor(private readonly compare: CompareDomain) {}

  add(record: TransitRecord): void {
    if (!this.comparisons.has(record.domain)) this.comparisons.set(record.domain, this.compare(record.domain));
    const comparison = this.comparisons.get(record.domain);
    if (comparison === undefined) {
      this.unchanged.set(record.domain, (this.unchanged.get(record.domain) ?? 0) + 1);
      return;
    }
    let summary = this.domains.get(record.domain);
    if (summary === undefined) {
      summary = emptyDomain(record.domain, comparison);
      this.domains.set(record.domain, summary);
    }
    add(summary, record, replaySession(record, comparison.target));
  }

  report(since: Date, until: Date): WhatIfReport {
    const domains = [...this.domains.values()].sort((a, b) => byWeight(a.defers, b.defers) || a.domain.localeCompare(b.domain));
    const total = { sessions: 0, messages: 0, defers: tally(), cannotTell: tally() };
    for (const domain of domains) {
      domain.deferrals.sort(byWeight);
      for (const deferral of domain.deferrals) deferral.hosts.sort((a, b) => byWeight(a, b) || a.host.localeCompare(b.host));
      domain.differently.sort(byWeight);
      total.sessions += domain.sessions;
      total.messages += domain.messages;
      for (const key of ['defers', 'cannotTell'] as const) {
        total[key].sessions += domain[key].sessions;
        total[key].messages += domain[key].messages;
      }
    }
    const unchangedSessions = [...this.unchanged.values()].reduce((sum, sessions) => sum + sessions, 0);
    return { since: since.toISOString(), until: until.toISOString(), domains, unchanged: { domains: this.unchanged.size, sessions: unchangedSessions }, total };
  }
}
