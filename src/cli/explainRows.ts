import type { HostEvent, HostOutcome } from '../policy/explainPublished.js';

// The pieces every `policy explain` text is made of: label/value rows, and what a next hop
// can do with what it would cause.

export type Row = [label: string, value: string | string[]];

/**
 * Rows with their values in one column; a list value continues on the lines below.
 * `width`: the labels' column, when groups of rows must line up with one another.
 */
export function rows(entries: Row[], indent: string, width = Math.max(...entries.map(([label]) => label.length))): string[] {
  return entries.flatMap(([label, value]) =>
    (typeof value === 'string' ? [value] : value).map((line, index) => `${indent}${(index === 0 ? label : '').padEnd(width)}  ${line}`),
  );
}

export const listOrNone = (items: readonly string[]): string => (items.length > 0 ? items.join(', ') : 'none');

const EVENT_LABELS: Record<HostEvent, string> = {
  'tls-not-attempted': 'any next hop (no STARTTLS)',
  'starttls-not-offered': 'does not offer STARTTLS',
  'starttls-refused': 'refuses STARTTLS',
  'starttls-refused-and-closed': 'refuses STARTTLS and hangs up',
  'handshake-failed': 'fails the TLS handshake',
  'certificate-fails': 'presents a certificate that fails every check',
  'tlsa-lookup-fails': 'has a TLSA lookup that fails',
};

/** Under an MTA-STS testing policy: what enforce would have done instead. */
const wouldFailText = (wouldFail: string | undefined): string => (wouldFail === undefined ? '' : `; enforce would defer: ${wouldFail} (logged and recorded)`);

export function outcomeText(outcome: HostOutcome): string {
  switch (outcome.action) {
    case 'deliver-in-plaintext':
      return `deliver in plaintext${wouldFailText(outcome.wouldFail)}`;
    case 'deliver-over-tls':
      return `deliver over TLS (logged ${outcome.verdict})${wouldFailText(outcome.wouldFail)}`;
    case 'plaintext-fallback':
      return 'retry the same host in plaintext on a new connection';
    case 'defer':
      return `defer: ${outcome.response}`;
    case 'defer-before-dialling':
      return `defer before dialling: ${outcome.response}`;
  }
}

export const outcomeRows = (outcomes: ReadonlyArray<{ event: HostEvent; outcome: HostOutcome }>): Row[] => outcomes.map(({ event, outcome }) => [EVENT_LABELS[event], outcomeText(outcome)]);
