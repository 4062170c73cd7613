import { domainToASCII } from 'node:url';

// ASCII that can never be part of a name or pattern. domainToASCII parses like a URL host
// and would cut 'contoso.test/x' or 'contoso.test?x' down to 'contoso.test'.
const NOT_IN_A_DOMAIN = /[\x00-\x29\x2b\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]/;

/**
 * The one canonical form of a domain for comparisons: ASCII (punycode), lower case,
 * no trailing dot. Unicode and punycode spellings of a name compare equal.
 * Returns undefined for a string that is not a valid domain name.
 */
export function normalizeDomain(domain: string): string | undefined {
  const trimmed = domain.trim().replace(/\.$/, '');
  if (trimmed === '' || trimmed.includes('..') || NOT_IN_A_DOMAIN.test(trimmed)) return undefined;
  const ascii = domainToASCII(trimmed);
  if (ascii === '') return undefined;
  return ascii.toLowerCase();
}

/** The domain of an address: everything after the last '@', normalised. */
export function domainOfAddress(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0) return undefined;
  return normalizeDomain(address.slice(at + 1));
}
