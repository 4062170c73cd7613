import { mkdir } from 'node:fs/promises';
import { open, type Database, type RootDatabase } from 'lmdb';
import { DIR_MODE } from '../durableFile.js';
import type { ClaimHolder } from '../messageQueue.js';

/** A message's bytes are kept in pieces of this size (the last one shorter): values LMDB can place and free without hunting for megabytes of contiguous pages. */
export const CHUNK_BYTES = 256 * 1024;

/** [queue ID, index of the piece]. */
export type ChunkKey = [string, number];

/** A claim as stored: its holder and when it last refreshed the claim (epoch ms). The entry's LMDB version is its fencing token. */
export interface ClaimRecord extends ClaimHolder {
  refreshedAt: number;
}

/**
 * The embedded queue store: one LMDB environment in `<queue.dir>/lmdb/` (data.mdb and
 * lock.mdb), shared by every process on the spool — the relay and `tlsrelay queue …`
 * alike (LMDB serialises the writers with a lock in lock.mdb that survives a killed holder).
 * A message is committed when its envelope is: the envelope is written in one transaction
 * with the last piece of its bytes, after the pieces before it, so a crash leaves either the
 * whole message or pieces nobody lists (recovered by lmdbRecovery.ts).
 */
export interface LmdbStore {
  root: RootDatabase;
  /** Queue ID → the envelope as JSON (envelopeCodec.ts checks it when read). */
  envelopes: Database<string, string>;
  /** [ID, n] → the n-th piece of the message's bytes. */
  chunks: Database<Buffer, ChunkKey>;
  /** Queue ID → the claim on the message; versioned: every write made with a claim is conditional on its version. */
  claims: Database<ClaimRecord, string>;
  /** Queue ID → when (epoch ms) a store() began writing pieces ahead of the envelope: one in flight, or left by a crash. */
  writing: Database<number, string>;
}

/**
 * Opens (and makes) the environment in `folder`. Every commit is synced before its write
 * resolves — LMDB's default, not `noSync` — and `overlappingSync: false` makes that sync
 * part of the commit, so a resolved write is on the disk; concurrent writes share commits
 * (lmdb-js batches what is queued while the previous commit runs). `eventTurnBatching:
 * false`: what must be atomic is grouped explicitly (batch, ifVersion, ifNoExists); the
 * event-turn batch would add a write of its own to each commit, whose promise nobody holds —
 * on a full disk its rejection went unhandled and ended the process.
 */
export async function openLmdbStore(folder: string): Promise<LmdbStore> {
  // only the relay's user may read the queue: the files LMDB makes inside inherit nothing, the folder guards them
  await mkdir(folder, { recursive: true, mode: DIR_MODE });
  const root = open(folder, { overlappingSync: false, eventTurnBatching: false, maxDbs: 8 });
  return {
    root,
    envelopes: root.openDB<string, string>('envelopes', { encoding: 'string' }),
    chunks: root.openDB<Buffer, ChunkKey>('chunks', { encoding: 'binary' }),
    claims: root.openDB<ClaimRecord, string>('claims', { encoding: 'json', useVersions: true }),
    writing: root.openDB<number, string>('writing', { encoding: 'json' }),
  };
}

/** The keys of the message's pieces, in order. */
export function chunkKeys(store: LmdbStore, id: string): ChunkKey[] {
  return [...store.chunks.getKeys({ start: [id, 0], end: [id, Number.MAX_SAFE_INTEGER] })];
}
