import { randomBytes, randomInt } from 'node:crypto';
import { isClaimStale, newHolder, parseHolder } from '../claimLiveness.js';
import { CLAIM_REFRESH_MS, LostClaimError, type ClaimAttempt, type ClaimCheck, type ClaimHolder, type QueueClaim } from '../messageQueue.js';
import { committed } from './lmdbCommit.js';
import type { ClaimRecord, LmdbStore } from './lmdbStore.js';

/** A claim taken through this process: `version` is its record's version as last written by us. */
interface HeldClaim {
  id: string;
  holder: ClaimHolder;
  version: number;
  state: 'held' | 'lost' | 'ended';
}

/**
 * The tokens of the claims this process holds, over every store instance in it: a record
 * naming this process but no token of these is stale (a restart that reused the ID).
 */
const heldTokens = new Set<string>();

/**
 * The claims of the LMDB store (messageQueue.ts): one record per claimed message, naming
 * its holder, in the same environment as the messages. The record's LMDB version is a
 * fencing token: taking a claim over, refreshing it, and every write a holder makes for
 * the message are conditional on the version it last saw, checked inside the commit — so a
 * holder whose claim was taken over (it stalled past CLAIM_STALE_MS) cannot write over the
 * new holder, even a moment after it last looked. Each refresh (every CLAIM_REFRESH_MS)
 * writes a new version, so that a taker that judged the claim stale before it fails.
 */
export class LmdbClaims {
  /** The claims held now (refreshed, and let go at close), and every claim taken through this instance. */
  private readonly held = new Map<QueueClaim, HeldClaim>();
  private readonly taken = new WeakMap<QueueClaim, HeldClaim>();
  private refresher: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: LmdbStore,
    private readonly folder: string,
  ) {}

  /** Claims the message unless a live holder has it; a stale claim is taken over. */
  async take(id: string): Promise<ClaimAttempt> {
    const { claims } = this.store;
    // more than one round only when the record changed between the look and the write
    for (let round = 0; round < 3; round++) {
      const holder = newHolder(randomBytes(8).toString('hex'));
      const record: ClaimRecord = { ...holder, refreshedAt: Date.now() };
      const version = newVersion();
      const seen = claims.getEntry(id);
      if (seen !== undefined && !isStaleRecord(seen.value, Date.now())) return { kind: 'busy', holder: parseHolder(seen.value) };
      const write = seen === undefined ? claims.ifNoExists(id, () => void claims.put(id, record, version)) : claims.put(id, record, version, seen.version!);
      if (await committed(write, this.folder)) return { kind: 'claimed', claim: this.keep({ id, holder, version, state: 'held' }) };
    }
    return { kind: 'busy', holder: parseHolder(claims.get(id)) };
  }

  /**
   * Runs `writes` (puts and removes of the store's databases) in one commit if `claim` is
   * still this holder's: else nothing is written and LostClaimError names the new holder.
   * `ends`: the writes remove the claim's record with the message, so the claim is over.
   */
  async fenced(claim: QueueClaim, writes: () => void, ends = false): Promise<void> {
    const held = this.heldOf(claim);
    for (let round = 0; round < 3; round++) {
      if (held.state !== 'held') break;
      if (await committed(this.store.claims.ifVersion(held.id, held.version, writes), this.folder)) {
        if (ends) this.end(claim, held, 'ended');
        return;
      }
      // the version moved: a refresh of ours committed meanwhile, or the claim is someone else's now
      if (!this.followOwnRefresh(held)) this.end(claim, held, 'lost');
    }
    throw new LostClaimError(this.holderOf(held.id));
  }

  /** Lets go of every claim still held (the store closes). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((claim) => claim.release()));
  }

  /** Removes the claim records whose holders are gone (kill -9 mid-delivery); live holders' stay. */
  async removeStale(onRemoved: (id: string, holder: ClaimHolder | undefined) => void): Promise<void> {
    const { claims } = this.store;
    const now = Date.now();
    for (const { key, value, version } of claims.getRange({ versions: true })) {
      if (!isStaleRecord(value, now)) continue;
      if (await committed(claims.remove(key, version!), this.folder)) onRemoved(key, parseHolder(value));
    }
  }

  private keep(held: HeldClaim): QueueClaim {
    heldTokens.add(held.holder.token);
    const claim: QueueClaim = {
      confirm: async () => this.confirm(claim, held),
      release: async () => this.release(claim, held),
    };
    this.held.set(claim, held);
    this.taken.set(claim, held);
    this.refresher ??= setInterval(() => void this.refreshAll(), CLAIM_REFRESH_MS).unref();
    return claim;
  }

  private confirm(claim: QueueClaim, held: HeldClaim): ClaimCheck {
    if (held.state === 'held' && this.isOurs(held)) return { kind: 'held' };
    this.end(claim, held, 'lost');
    return { kind: 'lost', holder: this.holderOf(held.id) };
  }

  private async release(claim: QueueClaim, held: HeldClaim): Promise<void> {
    if (held.state !== 'held') return;
    this.end(claim, held, 'ended');
    const { claims } = this.store;
    for (let round = 0; round < 3; round++) {
      if (await committed(claims.remove(held.id, held.version), this.folder)) return;
      // had we been taken for dead, the record is a new holder's now: it stays
      if (!this.followOwnRefresh(held)) return;
    }
  }

  private async refreshAll(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.held].map(async ([claim, held]) => {
        const version = newVersion();
        const refreshed = await committed(this.store.claims.put(held.id, { ...held.holder, refreshedAt: now }, version, held.version), this.folder).catch(() => undefined);
        if (refreshed === true) held.version = version;
        // a commit that failed (a full disk) leaves the record as it was; the next refresh tries again
        else if (refreshed === false && !this.followOwnRefresh(held)) this.end(claim, held, 'lost');
      }),
    );
  }

  /** After a conditional write found another version: true when the record is still ours (our own write moved it), with `held.version` caught up. */
  private followOwnRefresh(held: HeldClaim): boolean {
    const entry = this.store.claims.getEntry(held.id);
    if (entry === undefined || entry.value.token !== held.holder.token) return false;
    held.version = entry.version!;
    return true;
  }

  private isOurs(held: HeldClaim): boolean {
    return this.store.claims.get(held.id)?.token === held.holder.token;
  }

  private end(claim: QueueClaim, held: HeldClaim, state: 'lost' | 'ended'): void {
    if (held.state === 'held') held.state = state;
    heldTokens.delete(held.holder.token);
    if (!this.held.delete(claim) || this.held.size > 0) return;
    clearInterval(this.refresher);
    this.refresher = undefined;
  }

  private heldOf(claim: QueueClaim): HeldClaim {
    const held = this.taken.get(claim);
    if (held === undefined) throw new Error('not a claim of this queue store');
    return held;
  }

  private holderOf(id: string): ClaimHolder | undefined {
    return parseHolder(this.store.claims.get(id));
  }
}

function isStaleRecord(record: ClaimRecord | undefined, now: number): boolean {
  const holder = parseHolder(record);
  return isClaimStale(holder, record?.refreshedAt ?? 0, holder !== undefined && heldTokens.has(holder.token), now);
}

/** Versions only need to differ from the one before: random, as exact float64 integers. */
function newVersion(): number {
  return randomInt(1, 2 ** 47);
}
