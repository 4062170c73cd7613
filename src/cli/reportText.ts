import { PLAINTEXT, type DomainSummary, type Tally, type TransitReport, type TransitSummary } from '../transit/summary.js';
import { alignedTable, type Align } from './table.js';

// The human form of `tlsrelay report tls`: one table of the domains, then one per domain
// with what its sessions are made of. Scripts use --json; the facts here are the same.

/** `1 session`, `2 sessions`. */
const counted = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

const percent = (share: number | null): string => (share === null ? '-' : `${(share * 100).toFixed(1)}%`);

/** `2026-12-02 10:00 UTC`: minutes are enough for a period a person asked for. */
const when = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** Newest protocol first, plaintext last: the order a person scans for what is missing. */
function tlsVersionsOf(report: TransitReport): string[] {
  return Object.keys(report.total.tlsVersions).sort((a, b) => (a === PLAINTEXT ? 1 : b === PLAINTEXT ? -1 : b.localeCompare(a)));
}

const failedSessions = (summary: TransitSummary): number => Object.values(summary.failures).reduce((sum, tally) => sum + (tally?.sessions ?? 0), 0);

/** Columns shown only when some record needs them, each with the line that says what it counts. */
interface OptionalColumn {
  header: string;
  cell: (summary: TransitSummary) => number;
  legend: string;
}

const OPTIONAL_COLUMNS: OptionalColumn[] = [
  { header: 'waived', cell: (summary) => summary.tlsRequiredNo.sessions, legend: 'waived: sessions whose messages carried TLS-Required: No (published policies not applied)' },
  { header: 'not dialled', cell: (summary) => summary.notDialled.hosts, legend: 'not dialled: MX hosts a published policy deferred or skipped before dialling, once per delivery (also in failed)' },
];

function overview(report: TransitReport): string[] {
  const versions = tlsVersionsOf(report);
  const optional = OPTIONAL_COLUMNS.filter((column) => column.cell(report.total) > 0);
  const row = (name: string, summary: TransitSummary): string[] => [
    name,
    String(summary.sessions),
    String(summary.messages),
    percent(summary.verifiedShare.sessions),
    ...versions.map((version) => String(summary.tlsVersions[version]?.sessions ?? 0)),
    ...optional.map((column) => String(column.cell(summary))),
    String(failedSessions(summary)),
  ];
  const header = ['domain', 'sessions', 'messages', 'verified', ...versions, ...optional.map((column) => column.header), 'failed'];
  const align: Align[] = header.map((_, column) => (column === 0 ? 'left' : 'right'));
  const rows = report.domains.map((domain) => row(domain.domain, domain));
  if (report.domains.length > 1) rows.push(row('all domains', report.total));
  const legends = optional.length === 0 ? [] : ['', ...optional.map((column) => column.legend)];
  return [...alignedTable(header, rows, align), ...legends];
}

function tallyRows(by: string, tallies: Partial<Record<string, Tally>>, order: string[]): string[][] {
  return order.flatMap((value) => {
    const tally = tallies[value];
    return tally === undefined ? [] : [[by, value, String(tally.sessions), String(tally.messages)]];
  });
}

function domainDetail(domain: DomainSummary, versions: string[]): string[] {
  const byCount = (tallies: Partial<Record<string, Tally>>): string[] =>
    Object.keys(tallies).sort((a, b) => (tallies[b]?.sessions ?? 0) - (tallies[a]?.sessions ?? 0) || a.localeCompare(b));
  const rows = [
    ...tallyRows('TLS', domain.tlsVersions, versions),
    ...tallyRows('verdict', domain.verdicts, byCount(domain.verdicts)),
    ...tallyRows('policy', domain.policies, byCount(domain.policies)),
    ...tallyRows('TLS-Required', domain.tlsRequiredNo.sessions > 0 ? { No: domain.tlsRequiredNo } : {}, ['No']),
    ...tallyRows('failure', domain.failures, byCount(domain.failures)),
  ];
  const share = `${percent(domain.verifiedShare.sessions)} of sessions and ${percent(domain.verifiedShare.messages)} of messages verified`;
  const { hosts } = domain.notDialled;
  const notDialled = hosts === 0 ? '' : `; ${counted(hosts, 'host')} not dialled`;
  return [`${domain.domain}: ${share}${notDialled}`, ...alignedTable(['by', 'value', 'sessions', 'messages'], rows, ['left', 'left', 'right', 'right'], '  ')];
}

/** The whole report; `period` is how the command was asked (`--since 24h`). */
export function reportText(report: TransitReport, period: string): string {
  const heading = `Transit security from ${when(report.since)} to ${when(report.until)} (${period})`;
  if (report.domains.length === 0) return `${heading}: no delivery sessions recorded\n`;
  const { sessions, messages, notDialled } = report.total;
  const undialled = notDialled.hosts === 0 ? '' : `, ${counted(notDialled.hosts, 'host')} not dialled`;
  const lines = [`${heading}: ${counted(sessions, 'session')}, ${counted(messages, 'message')} delivered${undialled}`, '', ...overview(report)];
  const versions = tlsVersionsOf(report);
  for (const domain of report.domains) lines.push('', ...domainDetail(domain, versions));
  return `${lines.join('\n')}\n`;
}
