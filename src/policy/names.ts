import { normalizeDomain } from '../config/domain.js';

/**
 * Whether a configured name pattern ('mail.fabrikam.test' or '*.fabrikam.test') is
 * satisfied by one of the names a certificate carries. A pattern wildcard covers any
 * depth below its base, like domain patterns elsewhere in the config; a certificate's
 * own wildcard ('*.fabrikam.test') covers exactly one label, as RFC 6125 says.
 */
export function certificateNameMatches(pattern: string, certificateNames: readonly string[]): boolean {
  const wanted = normalizeDomain(pattern);
  if (wanted === undefined) return false;
  return certificateNames.some((raw) => {
    const name = normalizeDomain(raw);
    if (name === undefined) return false;
    if (name === wanted) return true;
    if (wanted.startsWith('*.') && name.endsWith(wanted.slice(1)) && !name.startsWith('*.')) return true;
    if (name.startsWith('*.') && !wanted.startsWith('*.')) {
      const dot = wanted.indexOf('.');
      return dot > 0 && wanted.slice(dot) === name.slice(1);
    }
    return false;
  });
}
