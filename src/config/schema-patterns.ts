import { PHC_SCRYPT_PATTERN } from './password-hash.js';
import { SHA256_FINGERPRINT_PATTERN } from './fingerprint.js';
import type { HostKind } from './host-port.js';
import { LOCAL_PART } from './mail-address.js';

// Regular expressions (ECMA-262, as JSON Schema `pattern` takes them) for the text values
// the loader parses: each accepts exactly what its parser accepts, except where a parser
// asks something no pattern can (IDNA rules for Unicode names). test/config/schema-patterns.test.ts
// holds each one against its parser. None is anchored, so that they compose; `anchored`
// makes the final pattern.

export function anchored(pattern: string): string {
  return `^(?:${pattern})$`;
}

function digitClass(low: number, high: number): string {
  return low === high ? String(low) : `[${low}-${high}]`;
}

function anyDigits(count: number): string {
  return count === 0 ? '' : count === 1 ? '[0-9]' : `[0-9]{${count}}`;
}

/** Decimal numbers from 0 to `max` without leading zeros. */
export function decimalAtMost(max: number): string {
  const digits = String(max);
  const length = digits.length;
  const alternatives: string[] = [];
  // every number with fewer digits than max
  if (length > 1) alternatives.push('[0-9]');
  if (length > 2) alternatives.push(length === 3 ? '[1-9][0-9]' : `[1-9][0-9]{1,${length - 2}}`);
  // as many digits as max: the same prefix, then a smaller digit, then anything
  for (let i = 0; i < length; i++) {
    const digit = Number(digits[i]);
    const low = i === 0 && length > 1 ? 1 : 0;
    if (digit > low) alternatives.push(`${digits.slice(0, i)}${digitClass(low, digit - 1)}${anyDigits(length - i - 1)}`);
  }
  alternatives.push(digits);
  return `(?:${alternatives.join('|')})`;
}

/** 1 to `max`, leading zeros allowed; `maxDigits` caps how many digits are written. */
function positiveAtMost(max: number, maxDigits?: number): string {
  const width = maxDigits === undefined ? '' : `(?=[0-9]{1,${maxDigits}}(?![0-9]))`;
  return `${width}(?!0+(?![0-9]))0*${decimalAtMost(max)}`;
}

const V4_PART = decimalAtMost(255);
export const IPV4 = `(?:${V4_PART}\\.){3}${V4_PART}`;

const V6_GROUP = '[0-9a-fA-F]{1,4}';

function v6Groups(count: number): string {
  return count === 0 ? '' : count === 1 ? V6_GROUP : `${V6_GROUP}(?::${V6_GROUP}){${count - 1}}`;
}

/**
 * Eight groups, or fewer around one `::`, and the last two groups may be written as
 * an IPv4 address (`::ffff:192.0.2.1`).
 */
function ipv6Forms(): string {
  const forms = [`(?:${V6_GROUP}:){7}${V6_GROUP}`, `(?:${V6_GROUP}:){6}${IPV4}`];
  // `::` stands for at least one group: at most 7 (or 5 before an IPv4 tail) are written
  for (let left = 0; left <= 7; left++) {
    const rightMax = 7 - left;
    forms.push(`${v6Groups(left)}::${rightMax === 0 ? '' : `(?:${V6_GROUP}(?::${V6_GROUP}){0,${rightMax - 1}})?`}`);
  }
  for (let left = 0; left <= 5; left++) {
    forms.push(`${v6Groups(left)}::(?:${V6_GROUP}:){0,${5 - left}}${IPV4}`);
  }
  return `(?:${forms.join('|')})`;
}

export const IPV6 = ipv6Forms();

/** What node:net's isIP accepts: IPv4, or IPv6 with an optional zone (`%eth0`). */
export const IP_ADDRESS = `(?:${IPV4}|${IPV6}(?:%[0-9A-Za-z.:-]+)?)`;

/** parseCidr: a prefix length of at most three digits. */
function prefixAtMost(max: number): string {
  return `(?=[0-9]{1,3}(?![0-9]))0*${decimalAtMost(max)}`;
}

const HEX_GROUP = '[0-9a-fA-F]{1,4}';
/**
 * IPv6 text that names an IPv4-mapped address (::ffff:0:0/96): five zero groups, written
 * out or in part behind `::`, then ffff and the IPv4 address (dotted or as two groups).
 */
const IPV4_MAPPED = `(?:(?:0{1,4}:){5}|(?:0{1,4}:){1,4}:(?:0{1,4}:){0,3}|::(?:0{1,4}:){0,4})[fF]{4}:(?:${IPV4}|${HEX_GROUP}:${HEX_GROUP})(?![^/])`;
/** A mapped range is an IPv4 range, so its prefix covers at least the 96 bits of the mapping. */
const MAPPED_PREFIX = '(?=[0-9]{1,3}(?![0-9]))0*(?:9[6-9]|1[01][0-9]|12[0-8])';

export const CIDR = `(?:${IPV4}(?:/${prefixAtMost(32)})?|(?=${IPV4_MAPPED})${IPV6}(?:/${MAPPED_PREFIX})?|(?!${IPV4_MAPPED})${IPV6}(?:/${prefixAtMost(128)})?)`;

const NAME_CHAR = '[A-Za-z0-9_.-]';
const ASCII_LABEL = '(?!-)[A-Za-z0-9_-]{1,63}(?<!-)';
/**
 * Letters, digits, `-`, `_`; labels of 63 and names of 253 at most. The last label is not
 * a number (`9`, `0x1f`): the URL host rules domainToASCII follows read such a name as an IPv4 address.
 */
const ASCII_NAME = `(?!(?:[A-Za-z0-9_-]+\\.)*(?:[0-9]+|0[xX][0-9A-Fa-f]*)\\.?(?!${NAME_CHAR}))(?=${NAME_CHAR}{1,253}\\.?(?!${NAME_CHAR}))${ASCII_LABEL}(?:\\.${ASCII_LABEL})*\\.?`;
/** With any non-ASCII character the rules are IDNA's, after conversion: only the ASCII that can never be in a name is refused here. */
const UNICODE_CHAR = '(?:[A-Za-z0-9_-]|[^\\x00-\\x7F])';
const UNICODE_NAME = `(?=${NAME_CHAR}*[^\\x00-\\x7F])${UNICODE_CHAR}+(?:\\.${UNICODE_CHAR}+)*\\.?`;
/** parseHostName: white space around the name and one trailing dot are dropped. */
export const HOST_NAME = `\\s*(?:${ASCII_NAME}|${UNICODE_NAME})\\s*`;

export function domainPattern(allowStar: boolean): string {
  return `(?:${allowStar ? '\\*|' : ''}\\*\\.${HOST_NAME}|${HOST_NAME})`;
}

const PORT = positiveAtMost(65535, 5);

/** parseHostPort: `[IPv6][:port]`, a bare IPv6 address, `IPv4[:port]`, and for name-or-ip `name[:port]`. */
export function hostPort(kind: HostKind): string {
  const forms = [`\\[${IPV6}\\](?::${PORT})?`, `${IPV6}(?::${PORT})?`, `${IPV4}(?::${PORT})?`];
  if (kind === 'name-or-ip') forms.push(`${HOST_NAME}(?::${PORT})?`);
  return `(?:${forms.join('|')})`;
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** parseDuration, above 0 and at most `maxMs` milliseconds. */
export function duration(maxMs: number): string {
  const units = Object.entries(UNIT_MS).map(([unit, ms]) => `${positiveAtMost(Math.floor(maxMs / ms))}${unit}`);
  return `(?:${units.join('|')})`;
}

/** parseMailAddress: a dot-atom local part, `@`, a host name. */
export const MAIL_ADDRESS = `${LOCAL_PART}@${HOST_NAME}`;

export const FINGERPRINT = SHA256_FINGERPRINT_PATTERN;
export const PASSWORD_HASH = PHC_SCRYPT_PATTERN;
/** parseDatabaseUrl: the scheme is all a pattern can hold against; new URL() judges the rest. */
export const DATABASE_URL = 'postgres(?:ql)?://\\S*';
