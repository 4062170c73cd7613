import { normalizeDomain } from '../config/domain.js';

// Two kinds of wildcard, and one function for each:
// - a config pattern (`*.fabrikam.test` in domains, senderDomains, acceptedDomains and
//   certificateNames) means any depth below its base, never the base itself;
// - a certificate's own wildcard (`*.fabrikam.test` in a SAN) covers exactly one label,
//   as RFC 6125 and Node's tls.checkServerIdentity, which judges outbound peers, say.

/**
 * How specifically a config pattern names a normalised domain, or undefined when it does
 * not match. An exact name beats any wildcard; a wildcard with a longer base beats a
 * shorter one (`*.x.b.test` over `*.b.test`); `*` matches everything and is the weakest.
 */
export function domainPatternSpecificity(pattern: string, domain: string): number | undefined {
  if (pattern === '*') return 0;
  if (pattern.startsWith('*.')) {
    const base = pattern.slice(1); // '.b.test': a label boundary, so 'xb.test' does not match
    return domain.endsWith(base) ? base.length : undefined;
  }
  // exact names outrank every wildcard, whatever their length
  return pattern === domain ? Number.MAX_SAFE_INTEGER : undefined;
}

/** Whether a config pattern (`a.b.test`, `*.b.test`: any depth below b.test, or `*`) names a normalised domain. */
export function domainPatternMatches(pattern: string, domain: string): boolean {
  return domainPatternSpecificity(pattern, domain) !== undefined;
}

/** Node lower-cases A-Z only and drops one trailing dot; so does this, to agree with it. */
function labelsOf(name: string): string[] {
  return name.replace(/\.$/, '').replace(/[A-Z]/g, (c) => c.toLowerCase()).split('.');
}

/** A name from a certificate as Node reads it: a name compared as it is, or a wildcard for one left-most label. */
type CertificateName = { kind: 'exact'; name: string } | { kind: 'wildcard'; prefix: string; suffix: string; parent: string };

/**
 * Node's reading (tls.checkServerIdentity) of a certificate's name; undefined for one that
 * matches nothing: an empty label, anything but printable ASCII, two `*`, or a `*` right
 * under a top-level domain (`*.test`). A `*` in an A-label (`xn--*`) or in a label other
 * than the left-most is no wildcard.
 */
function readCertificateName(certificateName: string): CertificateName | undefined {
  const labels = labelsOf(certificateName);
  if (labels.includes('') || /[^\x21-\x7f]/.test(certificateName)) return undefined;
  const [first = '', ...rest] = labels;
  const parts = first.split('*');
  if (parts.length === 1 || first.includes('xn--')) return { kind: 'exact', name: labels.join('.') };
  if (parts.length > 2 || labels.length <= 2) return undefined;
  return { kind: 'wildcard', prefix: parts[0] ?? '', suffix: parts[1] ?? '', parent: rest.join('.') };
}

/**
 * Whether a name a certificate carries (a SAN DNS entry, or the CN) is valid for host name
 * `host` (ASCII, as the config normalises names), by the rules of Node's
 * tls.checkServerIdentity: a `*` stands for one left-most label or part of it
 * (`*.contoso.test`, `f*.contoso.test`), never for the parent, never for two labels.
 */
export function certificateNameCovers(certificateName: string, host: string): boolean {
  const name = readCertificateName(certificateName);
  const [first = '', ...rest] = labelsOf(host);
  if (name === undefined) return false;
  if (name.kind === 'exact') return [first, ...rest].join('.') === name.name;
  const { prefix, suffix, parent } = name;
  return rest.join('.') === parent && prefix.length + suffix.length <= first.length && first.startsWith(prefix) && first.endsWith(suffix);
}

/**
 * Whether a configured certificate name — an exact name, or a pattern `*.b.test` (any
 * depth below b.test, like every pattern in the config) — is satisfied by one of the names
 * a certificate carries. For an exact name, some certificate name must cover it. For a
 * pattern, a certificate's exact name must lie under it, and a certificate wildcard may
 * cover only names under it: `*.b.test` and `*.x.b.test` do, `*.test` does not.
 */
export function certificateNameMatches(pattern: string, certificateNames: readonly string[]): boolean {
  const wanted = normalizeDomain(pattern);
  if (wanted === undefined) return false;
  if (!wanted.startsWith('*.')) return certificateNames.some((name) => certificateNameCovers(name, wanted));
  return certificateNames.some((raw) => {
    const name = readCertificateName(raw);
    if (name === undefined) return false;
    const under = name.kind === 'exact' ? name.name : name.parent;
    if (under.includes('*')) return false;
    return (name.kind === 'wildcard' && under === wanted.slice(2)) || domainPatternMatches(wanted, under);
  });
}
