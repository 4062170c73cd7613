import { Readable } from 'node:stream';
import { FixedPieces } from '../fixedPieces.js';
import { committed } from './lmdbCommit.js';
import { CHUNK_BYTES, chunkKeys, type LmdbStore } from './lmdbStore.js';

/**
 * Writes a message's bytes as they arrive, in pieces of CHUNK_BYTES: each full piece is
 * committed before more is read (so a 50 MB message is never in memory whole, and a slow
 * disk slows the client down), the first together with a `writing` record that tells
 * recovery whose pieces these are and since when. What is left at the end, the last piece,
 * is the caller's to commit with the envelope (putLast, inside its own commit).
 */
export class ChunkWriter {
  size = 0;
  private readonly pieces = new FixedPieces(CHUNK_BYTES);
  /** Pieces committed so far. */
  private written = 0;

  constructor(
    private readonly store: LmdbStore,
    private readonly folder: string,
    private readonly id: string,
  ) {}

  async add(piece: Buffer): Promise<void> {
    this.size += piece.length;
    for (const full of this.pieces.add(piece)) await this.commitPiece(full);
  }

  /** Puts the last piece (if any bytes are left) and ends the `writing` record: call inside the envelope's commit. */
  putLast(): void {
    const { chunks, writing } = this.store;
    const last = this.pieces.rest();
    if (last !== undefined) void chunks.put([this.id, this.written], last);
    if (this.written > 0) void writing.remove(this.id);
  }

  /** Removes what was committed of a store that failed (a crash before this leaves it to recovery). */
  async discard(): Promise<void> {
    if (this.written === 0) return;
    const { chunks, writing, root } = this.store;
    await committed(
      root.batch(() => {
        for (const key of chunkKeys(this.store, this.id)) void chunks.remove(key);
        void writing.remove(this.id);
      }),
      this.folder,
    );
  }

  private async commitPiece(piece: Buffer): Promise<void> {
    const { chunks, writing, root } = this.store;
    const index = this.written;
    await committed(
      root.batch(() => {
        if (index === 0) void writing.put(this.id, Date.now());
        void chunks.put([this.id, index], piece);
      }),
      this.folder,
    );
    this.written++;
  }
}

/**
 * The message's bytes as a stream, read piece by piece as the reader asks (`size`: the
 * envelope's). Errors on the stream when the message or a piece of it is not there.
 */
export function chunkStream(store: LmdbStore, id: string, size: number | undefined): Readable {
  return Readable.from(
    (function* () {
      if (size === undefined) throw new Error(`message ${id} is not in the queue`);
      for (let index = 0, sent = 0; sent < size; index++) {
        const piece = store.chunks.get([id, index]);
        if (piece === undefined) throw new Error(`message ${id} has no data after byte ${sent} of ${size}`);
        sent += piece.length;
        yield piece;
      }
    })(),
    { objectMode: false },
  );
}

/** The bytes stored for the message, counted without copying them out. */
export function storedBytes(store: LmdbStore, id: string): number {
  let bytes = 0;
  for (const key of chunkKeys(store, id)) bytes += store.chunks.getBinaryFast(key)?.length ?? 0;
  return bytes;
}
