import type { TlsResultType } from '../../policy/resultTypes.js';
import { AUTHENTICATES } from '../../policy/tlsDecision.js';
import type { AttemptOutcome } from '../../queue/types.js';
import type { TransitRecord } from '../../transit/record.js';

// What the transit record says per partner: for each recipient domain and the connector
// that carried it, the share of delivery sessions whose next hop proved its identity
// (verified: a verified, pinned or DANE-matched certificate), that were encrypted without
// that proof, and that ran in plaintext — and the latest sessions that fell short of their
// policy, with why. Counted record by record, as `report tls` counts, so that a day of
// records needs no more memory than the rows and the failures shown.

/** Rows shown, busiest first; the rest are counted. */
export const ROWS_SHOWN = 30;
/** Failures shown, newest first. */
export const FAILURES_SHOWN = 25;

export type SessionClass = 'verified' | 'encrypted' | 'plaintext';
export const SESSION_CLASSES: readonly SessionClass[] = ['verified', 'encrypted', 'plaintext'];

export interface PartnerRow {
  domain: string;
  connector: string;
  /** Sessions with a next hop that answered. */
  sessions: number;
  counts: Record<SessionClass, number>;
  /** counts over sessions, 0 to 1 (four decimals); null without sessions. */
  shares: Record<SessionClass, number | null>;
  /** Messages those sessions delivered. */
  delivered: number;
  /** Sessions that fell short of their policy. */
  failed: number;
  /** Next hops a published policy deferred or skipped before dialling (no session). */
  notDialled: number;
}

export interface TlsFailure {
  at: string;
  domain: string;
  connector: string;
  host: string;
  /** null: never dialled. */
  ip: string | null;
  failure: TlsResultType;
  outcome: AttemptOutcome;
  /** The reply or reason: what the deferral said, or the next hop's answer. */
  reply: string;
}

export interface SessionsView {
  rows: PartnerRow[];
  rowsNotShown: number;
  /** Newest first. */
  failures: TlsFailure[];
  /** All failures of the period, shown or not. */
  failureCount: number;
}

export function sessionClass(record: Pick<TransitRecord, 'tls' | 'verdict'>): SessionClass {
  if (record.tls === null) return 'plaintext';
  return AUTHENTICATES[record.verdict] ? 'verified' : 'encrypted';
}

const share = (part: number, whole: number): number | null => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);

type CountedRow = Omit<PartnerRow, 'shares'>;

function emptyRow(domain: string, connector: string): CountedRow {
  return { domain, connector, sessions: 0, counts: { verified: 0, encrypted: 0, plaintext: 0 }, delivered: 0, failed: 0, notDialled: 0 };
}

function withShares(row: CountedRow): PartnerRow {
  const { counts, sessions } = row;
  return { ...row, shares: { verified: share(counts.verified, sessions), encrypted: share(counts.encrypted, sessions), plaintext: share(counts.plaintext, sessions) } };
}

const newestFirst = (a: TlsFailure, b: TlsFailure): number => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0);

/** Feed it records with add(); view() says what they add up to. */
export class SessionTally {
  private readonly rows = new Map<string, CountedRow>();
  private failures: TlsFailure[] = [];
  private failureCount = 0;

  add(record: TransitRecord): void {
    const key = `${record.domain}\0${record.connector}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      row = emptyRow(record.domain, record.connector);
      this.rows.set(key, row);
    }
    if (record.failure !== null) this.addFailure(record, record.failure);
    if (record.ip === null) {
      row.notDialled += 1;
      return;
    }
    row.sessions += 1;
    row.counts[sessionClass(record)] += 1;
    row.delivered += record.delivered;
    if (record.failure !== null) row.failed += 1;
  }

  view(): SessionsView {
    const rows = [...this.rows.values()].sort((a, b) => b.sessions - a.sessions || a.domain.localeCompare(b.domain) || a.connector.localeCompare(b.connector));
    const shown = rows.slice(0, ROWS_SHOWN).map(withShares);
    return { rows: shown, rowsNotShown: rows.length - shown.length, failures: this.newest(), failureCount: this.failureCount };
  }

  private addFailure(record: TransitRecord, failure: TlsResultType): void {
    this.failureCount += 1;
    const { at, domain, connector, host, ip, outcome, reply } = record;
    this.failures.push({ at, domain, connector, host, ip, failure, outcome, reply });
    // records arrive file by file, not in time order: trimmed now and then, not at each one
    if (this.failures.length > 2 * FAILURES_SHOWN) this.failures = this.newest();
  }

  private newest(): TlsFailure[] {
    return [...this.failures].sort(newestFirst).slice(0, FAILURES_SHOWN);
  }
}
