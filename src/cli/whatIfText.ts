import { formatDuration } from '../config/duration.js';
import type { TlsLevel } from '../config/types.js';
import { requiresTls } from '../policy/tlsDecision.js';
import type { DeferralReason, UnknownReason } from '../transit/replay.js';
import type { Tally } from '../transit/summary.js';
import type { GlobalAsRecorded } from '../transit/whatIfCompare.js';
import type { ConnectorSide, DeliveryShape, DomainWhatIf, WhatIfReport } from '../transit/whatIf.js';

// The human form of `tlsrelay policy what-if`: per domain whose connector changes, one
// sentence an operator can paste into a change request, then the detail under it. Scripts
// use --json; the facts here are the same.

/** What the command prints around the report. */
export interface WhatIfContext {
  /** The config files: the one tried, and the one the record was made under. */
  next: string;
  current: string;
  /** As asked (`7d`), in ms. */
  sinceMs: number;
  asRecorded: GlobalAsRecorded[];
}

/** What a host did, as the sentence says it after its name. */
export const DEFERRAL_PHRASES: Record<DeferralReason, string> = {
  'starttls-not-offered': 'does not offer STARTTLS',
  'starttls-refused': 'refused STARTTLS',
  'handshake-failed': 'failed the TLS handshake',
  'below-min-version': "negotiated a TLS version below the connector's minVersion",
  'certificate-name': 'presented a certificate for another name',
  'certificate-chain': 'presented a certificate whose chain is not trusted (or is revoked)',
  'certificate-expired': 'presented an expired certificate',
  fingerprint: 'presented a certificate that no configured fingerprint matches',
  dane: 'presented a certificate that no TLSA record matches',
  'no-usable-tlsa': 'publishes no usable DNSSEC-validated TLSA records',
  'tlsa-lookup-failed': 'had its TLSA lookup fail',
  'not-in-mta-sts': "is not named by the domain's MTA-STS policy (not used)",
};

export const UNKNOWN_PHRASES: Record<UnknownReason, string> = {
  'not-recorded': 'recorded before the relay kept what a replay needs',
  'not-dialled': 'never dialled then (a published policy kept the host back), would be dialled now',
  'other-route': 'the new connector sends the mail to other hosts',
  'tlsa-not-looked-up': 'its TLSA records were not looked up then',
  'mta-sts-not-looked-up': "the domain's MTA-STS policy was not looked up then",
  'dane-not-matched': 'the certificate was not matched against TLSA records then',
  'tls-not-tried': 'level none never tried the STARTTLS the host offered',
};

const counted = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
const sessionsAndMessages = ({ sessions, messages }: Tally): string => `${counted(sessions, 'session')}, ${counted(messages, 'message')}`;

const UNITS = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
] as const;

/** `7 days`, `90 minutes`: the period as the sentence says it, in the largest unit that divides it. */
export function periodWords(ms: number): string {
  // --since is a whole number of seconds at least (parseDuration): some unit divides it
  const [word, size] = UNITS.find(([, unit]) => ms % unit === 0)!;
  return counted(ms / size, word);
}

const side = ({ name, level, implicit }: ConnectorSide): string => (implicit ? `the implicit default (${level})` : `${name} (${level})`);

/** A level that defers when there is no TLS: `dane-only` too, which requiresTls leaves to the TLSA records. */
const forcesTls = (level: TlsLevel): boolean => requiresTls(level) || level === 'dane-only';

/**
 * What the change is, as the sentence begins: `forcing \`verify\`` where TLS was not
 * required before, `switching to \`encrypt\`` from one level to another, `changing tlsNames`.
 */
function changeWords(domain: DomainWhatIf): string {
  const { current, next, changes } = domain;
  if (current.level !== next.level) return forcesTls(next.level) && !forcesTls(current.level) ? `forcing \`${next.level}\`` : `switching to \`${next.level}\``;
  const keys = [...changes.replayed, ...changes.asRecorded];
  return keys.length === 0 ? `connector ${next.name}` : `changing ${keys.join(', ')}`;
}

function headline(domain: DomainWhatIf, period: string): string {
  const opening = `${changeWords(domain)} for ${domain.domain} would have deferred`;
  const { defers, messages } = domain;
  if (defers.sessions === 0) return `${opening} none of its ${counted(messages, 'message')} in the last ${period}`;
  const why = domain.deferrals.map((deferral) => `${deferral.hosts.map((host) => host.host).join(', ')} ${DEFERRAL_PHRASES[deferral.reason]}`).join('; ');
  return `${opening} ${defers.messages} of ${counted(messages, 'message')} in the last ${period}: ${why}`;
}

const shape = ({ tls, verdict, policy }: DeliveryShape): string => `${tls} ${verdict}, policy ${policy}`;

function domainLines(domain: DomainWhatIf, period: string): string[] {
  const { changes } = domain;
  const changed = changes.replayed.length > 0 ? `; changed: ${changes.replayed.join(', ')}` : '';
  const lines = [headline(domain, period), `  connector: ${side(domain.current)} -> ${side(domain.next)}${changed}`];
  const outcomes = [
    ['would deliver', domain.delivers],
    ['would be deferred', domain.defers],
    ['would fall back to plaintext', domain.fallsBack],
    ['refused now, would go ahead', domain.goesAhead],
    ['cannot tell', domain.cannotTell],
  ] as const;
  const parts = outcomes.filter(([, tally]) => tally.sessions > 0).map(([words, tally]) => `${tally.sessions} ${words}`);
  lines.push(`  ${counted(domain.sessions, 'session')}: ${parts.join(', ')}`);
  for (const deferral of domain.deferrals) {
    lines.push(`  ${DEFERRAL_PHRASES[deferral.reason]} (${deferral.failure}): ${sessionsAndMessages(deferral)}`);
    for (const host of deferral.hosts) lines.push(`    ${host.host}: ${sessionsAndMessages(host)}: ${host.text}`);
  }
  for (const difference of domain.differently) lines.push(`  would deliver differently: ${sessionsAndMessages(difference)}: ${shape(difference.was)} -> ${shape(difference.now)}`);
  if (domain.goesAhead.sessions > 0) lines.push(`  refused now, would go ahead: ${counted(domain.goesAhead.sessions, 'session')} that were to carry ${counted(domain.goesAhead.messages, 'message')}`);
  const reasons = Object.entries(domain.cannotTell.reasons) as Array<[UnknownReason, Tally]>;
  for (const [reason, tally] of reasons) lines.push(`  cannot tell: ${sessionsAndMessages(tally)}: ${UNKNOWN_PHRASES[reason]}`);
  if (changes.asRecorded.length > 0) lines.push(`  not replayed, taken as recorded: ${changes.asRecorded.join(', ')}`);
  return lines;
}

const when = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

export function whatIfText(report: WhatIfReport, context: WhatIfContext): string {
  const period = periodWords(context.sinceMs);
  const lines = [`What-if ${context.next}, replayed over the transit record of ${context.current} from ${when(report.since)} to ${when(report.until)} (--since ${formatDuration(context.sinceMs)})`];
  if (context.asRecorded.length > 0) lines.push(`${context.asRecorded.join(', ')} differ: chains and TLSA findings are taken as recorded`);
  for (const domain of report.domains) lines.push('', ...domainLines(domain, period));
  const { unchanged, total } = report;
  lines.push('');
  if (report.domains.length === 0) lines.push(`No recorded domain gets another connector from ${context.next}.`);
  else {
    const cannotTell = total.cannotTell.sessions > 0 ? `; cannot tell for ${counted(total.cannotTell.sessions, 'session')}` : '';
    lines.push(`In all: ${counted(report.domains.length, 'domain')} replayed, ${sessionsAndMessages(total)}; would defer ${total.defers.messages} of their ${counted(total.messages, 'message')}${cannotTell}.`);
  }
  const keep = unchanged.domains === 1 ? 'keeps its' : 'keep their';
  if (unchanged.domains > 0) lines.push(`${counted(unchanged.domains, 'domain')} ${keep} connector (${counted(unchanged.sessions, 'session')}): not replayed.`);
  return `${lines.join('\n')}\n`;
}
