import { isIP } from 'node:net';
import { normalizeDomain } from './domain.js';

// Letters, digits, hyphen (RFC 1123) plus underscore, which real SRV-style names carry.
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A host name in normalised form (see normalizeDomain), or undefined. IP addresses are not names. */
export function parseHostName(text: string): string | undefined {
  const name = normalizeDomain(text);
  if (name === undefined || name.length > 253 || isIP(name) !== 0) return undefined;
  return name.split('.').every((label) => LABEL.test(label)) ? name : undefined;
}

/** A domain pattern: `a.b.test`, `*.b.test` (any depth below b.test) or `*` (every domain). */
export function parseDomainPattern(text: string): string | undefined {
  if (text === '*') return '*';
  if (!text.startsWith('*.')) return parseHostName(text);
  const base = parseHostName(text.slice(2));
  return base === undefined ? undefined : `*.${base}`;
}
