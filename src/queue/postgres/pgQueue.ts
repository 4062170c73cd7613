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
import { PgChunkWriter, pgChunkStream } from './pgData.js';
import { PgDatabase, type PgSettings } from './pgDatabase.js';
import { migrateSchema } from './pgSchema.js';

export interface PgQueueSettings extends PgSettings {
  /** How long a claim lasts without being renewed (a dead instance's messages wait this long). */
  leaseSeconds: number;
}

type LoadedEnvelope = { kind: 'found'; envelope: Envelope } | { kind: 'missing' } | { kind: 'damaged'; problem: string };

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
    const envelope = await this.write(id, pieces, envelopeFor, data, onBehalfOf);
    if (envelope === undefined) throw new Error(`message ${id} is in the queue already`);
    return envelope;
  }

  async adopt(envelope: Envelope, data: Readable): Promise<boolean> {
    const sized = adoptedEnvelope(envelope, data);
    return (await this.write(envelope.id, incoming(data), sized, data)) !== undefined;
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
    const loaded = await this.load(id);
    if (loaded.kind === 'missing') return loaded;
    if (loaded.kind === 'damaged') return this.quarantine(id, `damaged envelope: ${loaded.problem}`);
    const { rows } = await this.db.query<{ bytes: string }>('SELECT coalesce(sum(length(bytes)), 0) AS bytes FROM tlsrelay_message_chunks WHERE id = $1', [id]);
    const bytes = Number(rows[0]?.bytes ?? 0);
    if (bytes === loaded.envelope.size) return loaded;
    return this.quarantine(id, `message data has ${bytes} bytes, the envelope says ${loaded.envelope.size}`);
  }

  async update(envelope: Envelope, claim: QueueClaim): Promise<void> {
    assertQueueId(envelope.id);
    const problem = envelopeProblem(envelope);
    if (problem !== undefined) throw new Error(`refusing to write envelope ${envelope.id}: ${problem}`);
    await this.db.transaction(async (client) => {
      await this.claims.lockFor(client, claim);
      const { rowCount } = await client.query('UPDATE tlsrelay_messages SET envelope = $2 WHERE id = $1', [envelope.id, JSON.stringify(envelope)]);
      if (rowCount === 0) throw new Error(`message ${envelope.id} is not in the queue`);
    });
  }

  async remove(id: string, claim: QueueClaim): Promise<void> {
    assertQueueId(id);
    await this.db.transaction(async (client) => {
      await this.claims.lockFor(client, claim);
      // the message's pieces go with it (ON DELETE CASCADE)
      await client.query('DELETE FROM tlsrelay_messages WHERE id = $1', [id]);
      await client.query('DELETE FROM tlsrelay_claims WHERE id = $1', [id]);
    });
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
   * one is). Whatever fails, the transaction is rolled back and nothing is left.
   */
  private async write(id: string, pieces: AsyncIterable<Buffer | string>, envelopeFor: (size: number) => Envelope, data: Readable, onBehalfOf?: QueueClaim): Promise<Envelope | undefined> {
    try {
      return await this.db.transaction(async (client) => {
        if (await this.isQueuedLocked(client, id)) {
          abandon(data);
          return undefined;
        }
        const writer = new PgChunkWriter(client, id);
        for await (const piece of pieces) await writer.add(typeof piece === 'string' ? Buffer.from(piece) : piece);
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

  /** Whether a message `id` is queued, with the ID locked until the commit: two writers of one ID (a move run twice at once) go one after the other. */
  private async isQueuedLocked(client: PoolClient, id: string): Promise<boolean> {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('tlsrelay message ' || $1))", [id]);
    const { rows } = await client.query('SELECT 1 FROM tlsrelay_messages WHERE id = $1', [id]);
    return rows.length > 0;
  }

  private async load(id: string): Promise<LoadedEnvelope> {
    const { rows } = await this.db.query<{ envelope: string }>('SELECT envelope::text AS envelope FROM tlsrelay_messages WHERE id = $1', [id]);
    if (rows[0] === undefined) return { kind: 'missing' };
    const decoded = decodeEnvelope(rows[0].envelope, id);
    return decoded.ok ? { kind: 'found', envelope: decoded.envelope } : { kind: 'damaged', problem: decoded.problem };
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
