import { join } from 'node:path';
import { normalizeDomain } from '../../config/domain.js';
import type { Logger } from '../../log.js';
import type { MtaStsFailure, MtaStsOrigin, MtaStsPolicy, MtaStsState } from '../../policy/mtaSts.js';
import type { DnsLookups } from '../resolver.js';
import { fetchPolicyText, FETCH_TIMEOUT_MS, policyHostOf, type FetchedPolicy, type FetchTrust, type PolicyHostLookups } from './fetchPolicy.js';
import { expiryOf, PolicyCache, type CachedPolicy } from './policyCache.js';
import { parseMtaStsPolicy } from './policyText.js';
import { readStsRecords, type StsRecord } from './txtRecord.js';

/** RFC 8461 §3.3: after a failed fetch, no other for the same id for five minutes. */
export const FAILED_FETCH_HOLD_MS = 5 * 60_000;
/** RFC 8461 §5.1: cached policies are refreshed before they expire, once a day as it suggests. */
export const REFRESH_AFTER_MS = 24 * 3_600_000;

/** The DNS lookups the source makes: `_mta-sts.DOMAIN` TXT (strings joined per record) and the policy host's addresses. */
export type MtaStsLookups = Pick<DnsLookups, 'txt'> & PolicyHostLookups;

/** What the current config snapshot gives a lookup: its DNS servers and its trust anchors. */
export interface MtaStsEnvironment {
  lookups: MtaStsLookups;
  trust: FetchTrust;
}

export interface MtaStsSourceOptions {
  /** The durable cache's folder: mtaStsCacheDir(queue.dir), shared by every relay on that spool. */
  cacheDir: string;
  logger: Logger;
  /** Read at each lookup, so that a reload's DNS servers and tls.trust count from the next one. */
  environment: () => MtaStsEnvironment;
  /** The clock the cache rules read (tests move it). */
  now?: () => Date;
  fetchTimeoutMs?: number;
  /**
   * `read-only`: the cache is read, never written — what `policy explain --lookup` needs
   * beside a running relay, which owns the cache. A policy fetched then is used for that
   * lookup and not stored (its state says `fetched`). Default `read-write`.
   */
  cacheAccess?: CacheAccess;
}

export type CacheAccess = 'read-write' | 'read-only';

/** `<queue.dir>/cache/mta-sts`. */
export const mtaStsCacheDir = (queueDir: string): string => join(queueDir, 'cache', 'mta-sts');

interface HeldFailure {
  id: string;
  until: number;
  failure: MtaStsFailure;
}

/** A normalised domain that is also safe as a file name. */
const FILE_SAFE_DOMAIN = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

function policyState(entry: CachedPolicy, origin: MtaStsOrigin, refreshFailure?: MtaStsFailure): MtaStsState {
  return {
    kind: 'policy',
    policy: entry.policy,
    text: entry.text,
    id: entry.id,
    fetchedAt: entry.fetchedAt,
    expiresAt: expiryOf(entry),
    origin,
    ...(refreshFailure ? { refreshFailure } : {}),
  };
}

/** Without a fresh policy: the unexpired cached one (RFC 8461 §5.1), else none to apply and a failure to report. */
const fallback = (live: CachedPolicy | undefined, failure: MtaStsFailure): MtaStsState =>
  live ? policyState(live, 'cache', failure) : { kind: 'unavailable', failure };

/** A fetched text read as a policy; one that is no policy is a failure like any other (sts-policy-invalid). */
function readFetched(fetched: FetchedPolicy, domain: string): { kind: 'valid'; text: string; policy: MtaStsPolicy } | { kind: 'failed'; failure: MtaStsFailure } {
  if (fetched.kind === 'failed') return fetched;
  const parsed = parseMtaStsPolicy(fetched.text);
  if (parsed.kind === 'valid') return { kind: 'valid', text: fetched.text, policy: parsed.policy };
  return { kind: 'failed', failure: { resultType: 'sts-policy-invalid', reason: `the policy from ${policyHostOf(domain)} is invalid: ${parsed.reason}` } };
}

async function stsRecordOf(lookups: MtaStsLookups, domain: string): Promise<StsRecord> {
  const name = `_mta-sts.${domain}`;
  const answer = await lookups.txt(name);
  switch (answer.kind) {
    case 'found': {
      const record = readStsRecords(answer.records);
      return record.kind === 'none' ? { kind: 'none', reason: `${name}: ${record.reason}` } : record;
    }
    case 'nodata':
      return { kind: 'none', reason: `${name} has no TXT record` };
    case 'nxdomain':
      return { kind: 'none', reason: `${name} does not exist (NXDOMAIN)` };
    case 'temporary':
      return { kind: 'none', reason: `the TXT lookup of ${name} failed: ${answer.error}` };
  }
}

/**
 * The MTA-STS source (RFC 8461): per recipient domain, the policy to apply. The rules of
 * §3.3 and §5.1, and none of the mistakes REFERENCE.md notes in other caches:
 * - an unexpired cached policy is used while the TXT id is unchanged; it is fetched again
 *   when the id changes, when it expired, or once a day (the refresh §5.1 asks for);
 * - a failed fetch keeps the unexpired cached policy, and no other fetch is made for
 *   that id for FAILED_FETCH_HOLD_MS;
 * - a TXT record that is gone, broken, or whose lookup fails never drops an unexpired
 *   cached policy; a fetched `mode: none` replaces a cached `enforce` at once;
 * - concurrent lookups of one domain share one: a burst of deliveries makes one fetch.
 * The cache is in memory and on disk (PolicyCache); the file is read when the memory
 * cannot answer, so a policy fetched by another relay on the same spool, or before a
 * restart, is used rather than fetched again.
 */
export class MtaStsSource {
  private readonly cache: PolicyCache;
  private readonly known = new Map<string, CachedPolicy>();
  private readonly held = new Map<string, HeldFailure>();
  private readonly inFlight = new Map<string, Promise<MtaStsState>>();
  private readonly now: () => Date;

  constructor(private readonly options: MtaStsSourceOptions) {
    this.cache = new PolicyCache(options.cacheDir, options.logger);
    this.now = options.now ?? (() => new Date());
  }

  /** The MTA-STS state of `domain` now. Never rejects for what DNS, HTTPS or the cache do. */
  policyFor(domain: string): Promise<MtaStsState> {
    const name = normalizeDomain(domain);
    if (name === undefined || !FILE_SAFE_DOMAIN.test(name)) return Promise.resolve({ kind: 'none', reason: `"${domain}" is not a domain name` });
    const running = this.inFlight.get(name);
    if (running) return running;
    const lookup = this.lookUp(name).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, lookup);
    return lookup;
  }

  private async lookUp(domain: string): Promise<MtaStsState> {
    const { lookups, trust } = this.options.environment();
    const record = await stsRecordOf(lookups, domain);
    const now = this.now().getTime();
    const remembered = this.known.get(domain);
    const entry = remembered && this.answers(remembered, record, now) ? remembered : await this.reload(domain, remembered);
    const live = entry && now < expiryOf(entry).getTime() ? entry : undefined;
    if (record.kind === 'none') return live ? policyState(live, 'cache') : { kind: 'none', reason: record.reason };
    if (live && this.answers(live, record, now)) return policyState(live, 'cache');
    return this.fetch(domain, record.id, { lookups, trust }, live, entry);
  }

  /** Whether a cached policy settles this lookup without a fetch: unexpired, and for the id the TXT record names, and not due for its refresh. */
  private answers(entry: CachedPolicy, record: StsRecord, now: number): boolean {
    if (now >= expiryOf(entry).getTime()) return false;
    return record.kind === 'none' || (entry.id === record.id && now - entry.fetchedAt.getTime() < REFRESH_AFTER_MS);
  }

  /**
   * The file's entry, which another relay — or this one before a restart — may have
   * written since; the one in memory only when the file holds an older fetch (this
   * process could not write its own).
   */
  private async reload(domain: string, remembered: CachedPolicy | undefined): Promise<CachedPolicy | undefined> {
    const stored = await this.cache.read(domain);
    if (!stored || (remembered && stored.fetchedAt < remembered.fetchedAt)) return remembered;
    this.known.set(domain, stored);
    return stored;
  }

  private async fetch(domain: string, id: string, environment: MtaStsEnvironment, live: CachedPolicy | undefined, previous: CachedPolicy | undefined): Promise<MtaStsState> {
    const held = this.held.get(domain);
    if (held && held.id === id && this.now().getTime() < held.until) return fallback(live, held.failure);
    const fetched = readFetched(await fetchPolicyText(domain, { ...environment, timeoutMs: this.options.fetchTimeoutMs ?? FETCH_TIMEOUT_MS }), domain);
    if (fetched.kind === 'valid') {
      const entry: CachedPolicy = { domain, id, fetchedAt: this.now(), text: fetched.text, policy: fetched.policy };
      this.known.set(domain, entry);
      this.held.delete(domain);
      if (this.options.cacheAccess !== 'read-only') await this.cache.write(entry);
      this.logFetched(entry, previous);
      return policyState(entry, 'fetched');
    }
    const { failure } = fetched;
    this.held.set(domain, { id, until: this.now().getTime() + FAILED_FETCH_HOLD_MS, failure });
    this.logFailure(domain, id, failure, live);
    return fallback(live, failure);
  }

  private logFetched(entry: CachedPolicy, previous: CachedPolicy | undefined): void {
    const { domain, id, policy } = entry;
    const replaced = previous && previous.id !== id ? { previousId: previous.id, previousMode: previous.policy.mode } : {};
    this.options.logger.info({ domain, id, mode: policy.mode, mx: policy.mx, maxAge: policy.maxAge, expiresAt: expiryOf(entry).toISOString(), ...replaced }, 'MTA-STS policy fetched');
  }

  /** RFC 8461 §5.1: a failed refresh is an operator's business, unless the policy in force is mode none. */
  private logFailure(domain: string, id: string, failure: MtaStsFailure, live: CachedPolicy | undefined): void {
    const fields = { domain, id, resultType: failure.resultType, reason: failure.reason };
    const { logger } = this.options;
    if (!live) {
      logger.warn(fields, 'MTA-STS policy fetch failed; mail to the domain goes as without a policy until one is fetched');
      return;
    }
    const cached = { ...fields, cachedId: live.id, cachedMode: live.policy.mode, cachedUntil: expiryOf(live).toISOString() };
    const message = 'MTA-STS policy fetch failed; the cached policy stays in force until it expires';
    if (live.policy.mode === 'none') logger.info(cached, message);
    else logger.warn(cached, message);
  }
}
