// What one DNS question comes back as, for every lookup the outbound side makes.

/** The record types the relay asks for. */
export type RecordType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'TLSA';

/**
 * One question's answer, with failures sorted the way mail routing needs them.
 * `secure`: the resolver set the AD bit and `dns.dnssec` says to trust it — a denial
 * (nodata, nxdomain) can be secure too. `ttl` in seconds: the smallest of the records
 * (and of the CNAMEs that led to them); for a denial the SOA's negative TTL.
 */
export type Lookup<T> =
  /** `name`: the owner of the records — the name asked, or where its CNAMEs led. */
  | { kind: 'found'; records: T[]; name: string; secure: boolean; ttl: number }
  /** The name exists but has no record of this type. */
  | { kind: 'nodata'; secure: boolean; ttl: number }
  /** The name does not exist: permanent. */
  | { kind: 'nxdomain'; secure: boolean; ttl: number }
  /** SERVFAIL (also how a validating resolver reports a bogus answer), refused, timeout, bad reply: worth asking again later. */
  | { kind: 'temporary'; error: string };
