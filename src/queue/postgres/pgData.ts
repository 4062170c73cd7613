import { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { FixedPieces } from '../fixedPieces.js';
import type { PgDatabase } from './pgDatabase.js';

/** A message's bytes are kept in rows of this size (the last one shorter): a 50 MB message is never one value in memory. */
export const PG_CHUNK_BYTES = 256 * 1024;

/**
 * Writes a message's bytes as they arrive, a row per PG_CHUNK_BYTES, inside the
 * transaction that commits the message (so a crash or a failure leaves nothing: the
 * transaction is rolled back). Waiting for each insert before taking more slows the
 * client down to the database's pace.
 */
export class PgChunkWriter {
  size = 0;
  private readonly pieces = new FixedPieces(PG_CHUNK_BYTES);
  private written = 0;

  constructor(
    private readonly client: PoolClient,
    private readonly id: string,
  ) {}

  async add(piece: Buffer): Promise<void> {
    this.size += piece.length;
    for (const full of this.pieces.add(piece)) await this.insert(full);
  }

  /** Writes what is left (the last, shorter row). */
  async finish(): Promise<void> {
    const last = this.pieces.rest();
    if (last !== undefined) await this.insert(last);
  }

  private async insert(bytes: Buffer): Promise<void> {
    await this.client.query('INSERT INTO tlsrelay_message_chunks (id, seq, bytes) VALUES ($1, $2, $3)', [this.id, this.written, bytes]);
    this.written++;
  }
}

/** The message's bytes as a stream, a row at a time as the reader asks (the first with the size, in one query). Errors on the stream when the message or a piece of it is not there. */
export function pgChunkStream(db: PgDatabase, id: string): Readable {
  return Readable.from(
    (async function* () {
      const { rows } = await db.query<{ size: string; bytes: Buffer | null }>(
        'SELECT m.size, c.bytes FROM tlsrelay_messages m LEFT JOIN tlsrelay_message_chunks c ON c.id = m.id AND c.seq = 0 WHERE m.id = $1',
        [id],
      );
      if (rows[0] === undefined) throw new Error(`message ${id} is not in the queue`);
      const size = Number(rows[0].size);
      let piece = rows[0].bytes;
      for (let seq = 0, sent = 0; sent < size; seq++) {
        if (seq > 0) piece = (await db.query<{ bytes: Buffer }>('SELECT bytes FROM tlsrelay_message_chunks WHERE id = $1 AND seq = $2', [id, seq])).rows[0]?.bytes ?? null;
        if (piece === null) throw new Error(`message ${id} has no data after byte ${sent} of ${size}`);
        sent += piece.length;
        yield piece;
      }
    })(),
    { objectMode: false },
  );
}
