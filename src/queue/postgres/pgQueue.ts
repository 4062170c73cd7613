import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { redactDatabaseUrl } from '../../config/database-url.js';
import type { Logger } from '../../log.js';
import { quarantineUnlessClaimed } from '../damagedEnvelope.js';
import { decodeEnvelope, envelopeProblem } from '../envelopeCodec.js';
import type { CheckedEntry, ClaimAttempt, MessageQueue, QueueClaim } from '../messageQueue.js';
import { abandon, adoptedEnvelope, byArrival, incoming, incomingMessage } from '../newEnvelope.js';
import { assertQueueId } from '../queueId.js';
import type { Envelope, NewMessage } from '../types.js';
import { PgChanges } from './pgChanges.js';
import { PgClaims } from './pgClaims.js';
import { PG_CHUNK_BYTES, PgChunkWriter, pgChunkStream } from './pgData.js';
import { PgDatabase, type PgSettings } from './pgDatabase.js';
import { migrateSchema } from './pgSchema.js';

export interface PgQueueSettings extends PgSettings {
  /** How long a claim lasts without being renewed (a dead instance's messages wait this long). */
  leaseSeconds: number;
}

type LoadedEnvelope = { kind: 'found'; envelope: Envelope; bytes: number } | { kind: 'missing' } | { kind: 'damaged'; problem: string };

/**
 * The queue shared by several relay instances (`queue.postgres`), in PostgreSQL: a
 * message's envelope and bytes are committed in one transaction before the 250, claims
 * are leases fenced by a token (pgClaims.ts), and the instances wake each other with
 * LISTEN/NOTIFY (pgChanges.ts). A database that cannot be reached makes every call fail
 * with QueueUnavailableError until it is back.
 */
export class PgQueue implements MessageQueue {
  private readonly claims: PgClaims;
  private readonly changes: PgChanges;

  private constructor(
    private readonly db: PgDatabase,
    leaseSeconds: number,
    private readonly logger: Logger,
  ) {
    this.claims = new PgClaims(db, leaseSeconds);
    this.changes = new PgChanges(db, logger);
  }

  /** Connects and brings the schema up to date; rejects when the database cannot be reached or refuses. */
  static async open(settings: PgQueueSettings, logger: Logger): Promise<PgQueue> {
    const db = new PgDatabase(settings, logger);
    try {
      await migrateSchema(db.pool);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw new Error(`cannot open the queue database ${redactDatabaseUrl(settings.url)}: ${(err as Error).message}`, { cause: err });
    }
    return new PgQueue(db, settings.leaseSeconds, logger);
  }

  async store(message: NewMessage, data: Readable, onBehalfOf?: QueueClaim): Promise<Envelope> {
    const { id, pieces, envelopeFor } = incomingMessage(message, data);
    const envelope = await this.write(id, pieces, envelopeFor, data, { onBehalfOf });
    if (envelope === undefined) throw new Error(`message ${id} is in the queue already`);
    return envelope;
  }

  async adopt(envelope: Envelope, data: Readable): Promise<boolean> {
    const sized = adoptedEnvelope(envelope, data);
    // here already (a move cut short after the copy): said before its bytes are judged; a move
    // of the same message at the same moment is caught by the write itself
    if ((await this.load(envelope.id)).kind !== 'missing') {
      abandon(data);
      return false;
    }
    return (await this.write(envelope.id, incoming(data), sized, data, { mayBeQueued: true })) !== undefined;
  }

  async list(): Promise<Envelope[]> {
    const { rows } = await this.db.query<{ id: string; envelope: string }>('SELECT id, envelope::text AS envelope FROM tlsrelay_messages ORDER BY received_at, id');
    const envelopes: Envelope[] = [];
    for (const { id, envelope } of rows) {
      const decoded = decodeEnvelope(envelope, id);
      if (decoded.ok) envelopes.push(decoded.envelope);
      else await quarantineUnlessClaimed(this, id, decoded.problem, this.logger);
    }
    return envelopes.sort(byArrival);
  }

  async read(id: string): Promise<Envelope | undefined> {
    assertQueueId(id);
    const loaded = await this.load(id);
    if (loaded.kind === 'damaged') throw new Error(`envelope ${id} is damaged: ${loaded.problem}`);
    return loaded.kind === 'found' ? loaded.envelope : undefined;
  }

  openData(id: string): Readable {
    assertQueueId(id);
    return pgChunkStream(this.db, id);
  }

  async claim(id: string): Promise<ClaimAttempt> {
    assertQueueId(id);
    return this.claims.take(id);
  }

  async check(id: string): Promise<CheckedEntry> {
    assertQueueId(id);
    const loaded = await this.load(id, true);
    if (loaded.kind === 'missing') return loaded;
    if (loaded.kind === 'damaged') return this.quarantine(id, `damaged envelope: ${loaded.problem}`);
    if (loaded.bytes === loaded.envelope.size) return { kind: 'found', envelope: loaded.envelope };
    return this.quarantine(id, `message data has ${loaded.bytes} bytes, the envelope says ${loaded.envelope.size}`);
  }

  async update(envelope: Envelope, claim: QueueClaim): Promise<void> {
    assertQueueId(envelope.id);
    const problem = envelopeProblem(envelope);
    if (problem !== undefined) throw new Error(`refusing to write envelope ${envelope.id}: ${problem}`);
    const { id, token } = await this.claims.fence(claim);
    // one statement, one round trip: the claim's row is locked by it for the update's length
    const { rows } = await this.db.query<{ held: string; updated: string }>(
      `WITH claim AS (SELECT id FROM tlsrelay_claims WHERE id = $1 AND token = $2 FOR UPDATE),
       updated AS (UPDATE tlsrelay_messages SET envelope = $3 WHERE id IN (SELECT id FROM claim) RETURNING id)
       SELECT (SELECT count(*) FROM claim) AS held, (SELECT count(*) FROM updated) AS updated`,
      [id, token, JSON.stringify(envelope)],
    );
    if (rows[0]?.held === '0') throw await this.claims.lost(claim);
    if (rows[0]?.updated === '0') throw new Error(`message ${envelope.id} is not in the queue`);
  }

  async remove(id: string, claim: QueueClaim): Promise<void> {
    assertQueueId(id);
    const fence = await this.claims.fence(claim);
    if (fence.id !== id) throw new Error(`the claim is on message ${fence.id}, not ${id}`);
    // the claim's row and the message (its pieces with it: ON DELETE CASCADE) in one statement
    const { rows } = await this.db.query<{ held: string }>(
      `WITH claim AS (DELETE FROM tlsrelay_claims WHERE id = $1 AND token = $2 RETURNING id),
       removed AS (DELETE FROM tlsrelay_messages WHERE id IN (SELECT id FROM claim))
       SELECT count(*) AS held FROM claim`,
      [id, fence.token],
    );
    if (rows[0]?.held === '0') throw await this.claims.lost(claim);
    this.claims.ended(claim);
  }

  announceChange(): Promise<void> {
    return this.changes.announce();
  }

  watchChanges(onChange: () => void): () => void {
    return this.changes.watch(onChange);
  }

  async unreachable(): Promise<string | undefined> {
    return this.db.query('SELECT 1').then(
      () => undefined,
      (err: Error) => err.message,
    );
  }

  /** Lets go of the claims still held (deliveries in flight at shutdown) and closes the connections. */
  async close(): Promise<void> {
    this.changes.close();
    await this.claims.releaseAll();
    await this.db.close();
  }

  /**
   * Writes the pieces and then the envelope `envelopeFor(size)` in one transaction: on
   * `onBehalfOf`'s claim, else only when no message of that ID is queued (undefined when
   * one is). `mayBeQueued`: the ID is not a new one (adopt), so a writer of the same ID at
   * the same moment is waited for. Whatever fails, the transaction is rolled back and
   * nothing is left.
   */
  private async write(
    id: string,
    pieces: AsyncIterable<Buffer | string>,
    envelopeFor: (size: number) => Envelope,
    data: Readable,
    { onBehalfOf, mayBeQueued = false }: { onBehalfOf?: QueueClaim; mayBeQueued?: boolean },
  ): Promise<Envelope | undefined> {
    try {
      const source = pieces[Symbol.asyncIterator]();
      // Most mail fits in one row: read that much before taking a connection, and when the
      // message ends within it, write it in one statement, committed by itself.
      const head = await headOf(source, PG_CHUNK_BYTES);
      if (head.ended && onBehalfOf === undefined) return await this.writeWhole(id, head.bytes, envelopeFor, data);
      return await this.db.transaction(async (client) => {
        if (mayBeQueued && (await this.isQueuedLocked(client, id))) {
          abandon(data);
          return undefined;
        }
        const writer = new PgChunkWriter(client, id);
        await writer.add(head.bytes);
        for (let next = await source.next(); next.done !== true; next = await source.next()) await writer.add(asBuffer(next.value));
        await writer.finish();
        const envelope = envelopeFor(writer.size);
        if (onBehalfOf !== undefined) await this.claims.lockFor(client, onBehalfOf);
        await client.query('INSERT INTO tlsrelay_messages (id, received_at, size, envelope) VALUES ($1, $2, $3, $4)', [id, envelope.receivedAt, envelope.size, JSON.stringify(envelope)]);
        return envelope;
      });
    } catch (err) {
      abandon(data);
      throw err;
    }
  }

  /** A message of at most one row, in one statement: undefined (nothing written) when a message of that ID is queued. */
  private async writeWhole(id: string, bytes: Buffer, envelopeFor: (size: number) => Envelope, data: Readable): Promise<Envelope | undefined> {
    const envelope = envelopeFor(bytes.length);
    const { rows } = await this.db.query<{ inserted: string }>(
      `WITH message AS (
         INSERT INTO tlsrelay_messages (id, received_at, size, envelope) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id),
       piece AS (INSERT INTO tlsrelay_message_chunks (id, seq, bytes) SELECT id, 0, $5 FROM message WHERE $3 > 0)
       SELECT count(*) AS inserted FROM message`,
      [id, envelope.receivedAt, envelope.size, JSON.stringify(envelope), bytes],
    );
    if (rows[0]?.inserted !== '0') return envelope;
    abandon(data);
    return undefined;
  }

  /** Whether a message `id` is queued, with the ID locked until the commit: two writers of one ID (a move run twice at once) go one after the other. */
  private async isQueuedLocked(client: PoolClient, id: string): Promise<boolean> {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('tlsrelay message ' || $1))", [id]);
    const { rows } = await client.query('SELECT 1 FROM tlsrelay_messages WHERE id = $1', [id]);
    return rows.length > 0;
  }

  /** The envelope as stored; `withBytes`: and how many bytes of the message are stored, read in the same query. */
  private async load(id: string, withBytes = false): Promise<LoadedEnvelope> {
    const bytes = withBytes ? '(SELECT coalesce(sum(length(c.bytes)), 0) FROM tlsrelay_message_chunks c WHERE c.id = m.id)' : '0';
    const { rows } = await this.db.query<{ envelope: string; bytes: string }>(`SELECT m.envelope::text AS envelope, ${bytes} AS bytes FROM tlsrelay_messages m WHERE m.id = $1`, [id]);
    if (rows[0] === undefined) return { kind: 'missing' };
    const decoded = decodeEnvelope(rows[0].envelope, id);
    return decoded.ok ? { kind: 'found', envelope: decoded.envelope, bytes: Number(rows[0].bytes) } : { kind: 'damaged', problem: decoded.problem };
  }

  /** Moves the message, bytes and all, to tlsrelay_quarantine, where an operator can look at it; it is no longer delivered. */
  private async quarantine(id: string, problem: string): Promise<CheckedEntry> {
    await this.db.transaction(async (client) => {
      await client.query(
        `INSERT INTO tlsrelay_quarantine (id, problem, envelope, bytes)
         SELECT m.id, $2, m.envelope::text, (SELECT string_agg(c.bytes, ''::bytea ORDER BY c.seq) FROM tlsrelay_message_chunks c WHERE c.id = m.id)
         FROM tlsrelay_messages m WHERE m.id = $1`,
        [id, problem],
      );
      await client.query('DELETE FROM tlsrelay_messages WHERE id = $1', [id]);
    });
    this.logger.error({ queueId: id, reason: problem }, 'damaged message moved to the tlsrelay_quarantine table');
    return { kind: 'quarantined', problem };
  }
}

const asBuffer = (piece: Buffer | string): Buffer => (typeof piece === 'string' ? Buffer.from(piece) : piece);

/** Reads from `source` until `limit` bytes or its end, whichever comes first. */
async function headOf(source: AsyncIterator<Buffer | string>, limit: number): Promise<{ bytes: Buffer; ended: boolean }> {
  const pieces: Buffer[] = [];
  let size = 0;
  while (size < limit) {
    const next = await source.next();
    if (next.done === true) return { bytes: Buffer.concat(pieces, size), ended: true };
    const piece = asBuffer(next.value);
    pieces.push(piece);
    size += piece.length;
  }
  return { bytes: Buffer.concat(pieces, size), ended: false };
}
