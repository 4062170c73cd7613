import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import { isClaimStale, newHolder, parseHolder } from '../claimLiveness.js';
import { CLAIM_REFRESH_MS, LostClaimError, type ClaimAttempt, type ClaimCheck, type ClaimHolder, type QueueClaim } from '../messageQueue.js';
import type { PgDatabase } from './pgDatabase.js';

interface HeldClaim {
  id: string;
  holder: ClaimHolder;
  state: 'held' | 'lost' | 'ended';
}

/** The tokens of the claims this process holds, over every queue instance in it (as lmdbClaims.ts). */
const heldTokens = new Set<string>();

const TAKE = `
  INSERT INTO tlsrelay_claims (id, token, holder, lease_until) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
  ON CONFLICT (id) DO UPDATE SET token = excluded.token, holder = excluded.holder, lease_until = excluded.lease_until
  WHERE tlsrelay_claims.lease_until < now()
  RETURNING id`;

const TAKE_FROM = `
  UPDATE tlsrelay_claims SET token = $3, holder = $4, lease_until = now() + make_interval(secs => $5)
  WHERE id = $1 AND token = $2
  RETURNING id`;

const RENEW = `
  UPDATE tlsrelay_claims AS c SET lease_until = now() + make_interval(secs => $3)
  FROM unnest($1::text[], $2::text[]) AS h (id, token)
  WHERE c.id = h.id AND c.token = h.token
  RETURNING c.id, c.token`;

/**
 * The claims of the shared queue (messageQueue.ts): a lease per claimed message on the
 * database's clock, so that instances on several hosts agree on when it ends. A claim is
 * taken when no lease is live (or its holder, on this host, is known to be gone), renewed
 * while its holder works, and its token fences every write made with it: each write's
 * transaction first locks the claim row and finds its own token there, so a holder that
 * stalled past its lease and was taken over writes nothing.
 */
export class PgClaims {
  private readonly held = new Map<QueueClaim, HeldClaim>();
  private readonly taken = new WeakMap<QueueClaim, HeldClaim>();
  private renewer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: PgDatabase,
    private readonly leaseSeconds: number,
  ) {}

  async take(id: string): Promise<ClaimAttempt> {
    // more than one round only when the claim changed hands between the look and the write
    for (let round = 0; round < 3; round++) {
      const holder = newHolder(randomBytes(8).toString('hex'));
      const { rows } = await this.db.query(TAKE, [id, holder.token, holder, this.leaseSeconds]);
      if (rows.length > 0) return { kind: 'claimed', claim: this.keep({ id, holder, state: 'held' }) };
      const seen = await this.holderRow(id);
      if (seen === undefined) continue;
      const current = parseHolder(seen.holder);
      // the lease is live; a holder on this host that is gone (kill -9, a restart) need not be waited for
      if (current !== undefined && !isClaimStale(current, Date.now(), heldTokens.has(current.token), Date.now())) return { kind: 'busy', holder: current };
      const retaken = await this.db.query(TAKE_FROM, [id, seen.token, holder.token, holder, this.leaseSeconds]);
      if (retaken.rows.length > 0) return { kind: 'claimed', claim: this.keep({ id, holder, state: 'held' }) };
    }
    return { kind: 'busy', holder: await this.holderOf(id) };
  }

  /**
   * Inside the transaction of `client`: locks the claim's row until the commit and makes
   * sure it is still this holder's, else LostClaimError (and the caller rolls back).
   */
  async lockFor(client: PoolClient, claim: QueueClaim): Promise<void> {
    const { id, token } = await this.fence(claim, client);
    const { rows } = await client.query<{ token: string }>('SELECT token FROM tlsrelay_claims WHERE id = $1 FOR UPDATE', [id]);
    if (rows[0]?.token !== token) throw await this.lost(claim, client);
  }

  /**
   * The row a write on the claim's behalf must find, for a write made in one statement
   * that checks it itself (see PgQueue.update); LostClaimError when this holder knows it lost it.
   */
  async fence(claim: QueueClaim, client?: PoolClient): Promise<{ id: string; token: string }> {
    const held = this.heldOf(claim);
    if (held.state !== 'held') throw new LostClaimError(await this.holderOf(held.id, client));
    return { id: held.id, token: held.holder.token };
  }

  /**
   * A write fenced by `fence` found another token on the row, or none: the claim is lost;
   * the error names who has it now. `client`: the transaction the write ran in, which holds
   * a connection of the pool (a pool of one would wait for it forever).
   */
  async lost(claim: QueueClaim, client?: PoolClient): Promise<LostClaimError> {
    const held = this.heldOf(claim);
    this.end(claim, held, 'lost');
    return new LostClaimError(await this.holderOf(held.id, client));
  }

  /** The claim's row went with its message (remove): the claim is over. */
  ended(claim: QueueClaim): void {
    this.end(claim, this.heldOf(claim), 'ended');
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((claim) => claim.release().catch(() => undefined)));
  }

  private keep(held: HeldClaim): QueueClaim {
    heldTokens.add(held.holder.token);
    const claim: QueueClaim = {
      confirm: () => this.confirm(claim, held),
      release: () => this.release(claim, held),
    };
    this.held.set(claim, held);
    this.taken.set(claim, held);
    // renewed well before the lease ends, and at least as often as the other stores refresh theirs
    this.renewer ??= setInterval(() => void this.renewAll(), Math.min(CLAIM_REFRESH_MS, (this.leaseSeconds * 1000) / 3)).unref();
    return claim;
  }

  /** Held while the token is still on the row: then the lease is renewed too. */
  private async confirm(claim: QueueClaim, held: HeldClaim): Promise<ClaimCheck> {
    if (held.state === 'held') {
      const renewed = await this.db.query(RENEW, [[held.id], [held.holder.token], this.leaseSeconds]);
      if (renewed.rows.length > 0) return { kind: 'held' };
      this.end(claim, held, 'lost');
    }
    return { kind: 'lost', holder: await this.holderOf(held.id) };
  }

  private async release(claim: QueueClaim, held: HeldClaim): Promise<void> {
    if (held.state !== 'held') return;
    this.end(claim, held, 'ended');
    // had we been taken over, the row is the new holder's and stays
    await this.db.query('DELETE FROM tlsrelay_claims WHERE id = $1 AND token = $2', [held.id, held.holder.token]);
  }

  private async renewAll(): Promise<void> {
    const claims = [...this.held];
    if (claims.length === 0) return;
    const renewed = await this.db
      .query<{ id: string; token: string }>(RENEW, [claims.map(([, held]) => held.id), claims.map(([, held]) => held.holder.token), this.leaseSeconds])
      // the database is away: the leases run on, and the next round tries again
      .catch(() => undefined);
    if (renewed === undefined) return;
    const tokens = new Set(renewed.rows.map((row) => row.token));
    for (const [claim, held] of claims) if (!tokens.has(held.holder.token)) this.end(claim, held, 'lost');
  }

  private async holderOf(id: string, client?: PoolClient): Promise<ClaimHolder | undefined> {
    return parseHolder((await this.holderRow(id, client))?.holder);
  }

  private async holderRow(id: string, client?: PoolClient): Promise<{ token: string; holder: unknown } | undefined> {
    const sql = 'SELECT token, holder FROM tlsrelay_claims WHERE id = $1';
    const { rows } = client ? await client.query<{ token: string; holder: unknown }>(sql, [id]) : await this.db.query<{ token: string; holder: unknown }>(sql, [id]);
    return rows[0];
  }

  private end(claim: QueueClaim, held: HeldClaim, state: 'lost' | 'ended'): void {
    if (held.state === 'held') held.state = state;
    heldTokens.delete(held.holder.token);
    if (!this.held.delete(claim) || this.held.size > 0) return;
    clearInterval(this.renewer);
    this.renewer = undefined;
  }

  private heldOf(claim: QueueClaim): HeldClaim {
    const held = this.taken.get(claim);
    if (held === undefined) throw new Error('not a claim of this queue store');
    return held;
  }
}
