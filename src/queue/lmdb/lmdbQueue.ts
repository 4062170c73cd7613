import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log.js';
import { ChangeSignal } from '../changeSignal.js';
import { quarantineUnlessClaimed } from '../damagedEnvelope.js';
import { decodeEnvelope, envelopeProblem } from '../envelopeCodec.js';
import type { CheckedEntry, ClaimAttempt, MessageQueue, QueueClaim } from '../messageQueue.js';
import { abandon, adoptedEnvelope, byArrival, incoming, incomingMessage } from '../newEnvelope.js';
import { assertQueueId } from '../queueId.js';
import { spoolLayout, type SpoolLayout } from '../spoolLayout.js';
import type { Envelope, NewMessage } from '../types.js';
import { LmdbClaims } from './lmdbClaims.js';
import { committed } from './lmdbCommit.js';
import { ChunkWriter, chunkStream, storedBytes } from './lmdbData.js';
import { quarantineLmdbMessage } from './lmdbQuarantine.js';
import { recoverLmdbStore } from './lmdbRecovery.js';
import { chunkKeys, openLmdbStore, type LmdbStore } from './lmdbStore.js';

type LoadedEnvelope = { kind: 'found'; envelope: Envelope } | { kind: 'missing' } | { kind: 'damaged'; problem: string };

/**
 * The queue in the embedded LMDB store (`queue.store: lmdb`, lmdbStore.ts): envelopes,
 * message bytes and claims in one environment, so that storing a message, recording an
 * attempt or removing a delivered one is one commit — shared by every write that
 * concurrent sessions and deliveries queue meanwhile — instead of files, renames and
 * directory syncs per message. Claims are records whose version fences every write made
 * with them (lmdbClaims.ts).
 */
export class LmdbQueue implements MessageQueue {
  private readonly claims: LmdbClaims;

  private constructor(
    private readonly layout: SpoolLayout,
    private readonly db: LmdbStore,
    private readonly logger: Logger,
    private readonly changes: ChangeSignal,
  ) {
    this.claims = new LmdbClaims(db, layout.lmdb);
  }

  /** Opens the store in `<dir>/lmdb/` (made if missing) and recovers what a crash left (lmdbRecovery.ts). */
  static async open(dir: string, logger: Logger): Promise<LmdbQueue> {
    const layout = spoolLayout(resolve(dir));
    try {
      const store = await openLmdbStore(layout.lmdb);
      const queue = new LmdbQueue(layout, store, logger, await ChangeSignal.open(layout.control, logger));
      await recoverLmdbStore(store, queue.claims, layout.lmdb, logger);
      return queue;
    } catch (err) {
      throw new Error(`cannot open the queue store at ${layout.lmdb}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Streams the message into the store and commits its envelope with its last piece.
   * `onBehalfOf` (a DSN): that commit is conditional on the claim (LostClaimError).
   */
  async store(message: NewMessage, data: Readable, onBehalfOf?: QueueClaim): Promise<Envelope> {
    const { id, pieces, envelopeFor } = incomingMessage(message, data);
    const envelope = await this.write(id, pieces, envelopeFor, data, onBehalfOf);
    if (envelope === undefined) throw new Error(`message ${id} is in the queue already`);
    return envelope;
  }

  /** A message moved in from another store (see MessageQueue), committed as store() commits. */
  async adopt(envelope: Envelope, data: Readable): Promise<boolean> {
    const sized = adoptedEnvelope(envelope, data);
    if (this.db.envelopes.doesExist(envelope.id)) {
      abandon(data);
      return false;
    }
    return (await this.write(envelope.id, incoming(data), sized, data)) !== undefined;
  }

  /** All committed messages, oldest first. A damaged envelope is quarantined (or, while claimed, skipped) and left out. */
  async list(): Promise<Envelope[]> {
    const envelopes: Envelope[] = [];
    const damaged: Array<{ id: string; problem: string }> = [];
    for (const { key, value } of this.db.envelopes.getRange()) {
      const decoded = decodeEnvelope(value, key);
      if (decoded.ok) envelopes.push(decoded.envelope);
      else damaged.push({ id: key, problem: decoded.problem });
    }
    for (const { id, problem } of damaged) await quarantineUnlessClaimed(this, id, problem, this.logger);
    return envelopes.sort(byArrival);
  }

  /** The envelope, or undefined when no such message is queued; throws for a damaged one. */
  async read(id: string): Promise<Envelope | undefined> {
    assertQueueId(id);
    const loaded = this.load(id);
    if (loaded.kind === 'damaged') throw new Error(`envelope ${id} is damaged: ${loaded.problem}`);
    return loaded.kind === 'found' ? loaded.envelope : undefined;
  }

  /** A fresh stream of the stored message; a missing one errors on the stream. */
  openData(id: string): Readable {
    assertQueueId(id);
    const loaded = this.load(id);
    return chunkStream(this.db, id, loaded.kind === 'found' ? loaded.envelope.size : undefined);
  }

  async claim(id: string): Promise<ClaimAttempt> {
    assertQueueId(id);
    return this.claims.take(id);
  }

  /** The message as it is now: a valid envelope with the bytes it says. A damaged one is quarantined. Under the claim. */
  async check(id: string): Promise<CheckedEntry> {
    assertQueueId(id);
    const loaded = this.load(id);
    if (loaded.kind === 'missing') return loaded;
    if (loaded.kind === 'damaged') return this.quarantine(id, `damaged envelope: ${loaded.problem}`);
    const problem = this.dataProblem(loaded.envelope);
    return problem === undefined ? loaded : this.quarantine(id, problem);
  }

  /** Replaces the envelope of a message still queued, in a commit conditional on the claim. */
  async update(envelope: Envelope, claim: QueueClaim): Promise<void> {
    assertQueueId(envelope.id);
    const problem = envelopeProblem(envelope);
    if (problem !== undefined) throw new Error(`refusing to write envelope ${envelope.id}: ${problem}`);
    // only the claim's holder removes a message, so one still here under the claim stays until this commit
    if (!this.db.envelopes.doesExist(envelope.id)) throw new Error(`message ${envelope.id} is not in the queue`);
    const text = JSON.stringify(envelope);
    await this.claims.fenced(claim, () => void this.db.envelopes.put(envelope.id, text));
  }

  /** Removes envelope, bytes and claim in one commit conditional on the claim. */
  async remove(id: string, claim: QueueClaim): Promise<void> {
    assertQueueId(id);
    const { envelopes, chunks, claims } = this.db;
    const keys = chunkKeys(this.db, id);
    await this.claims.fenced(
      claim,
      () => {
        void envelopes.remove(id);
        for (const key of keys) void chunks.remove(key);
        void claims.remove(id);
      },
      true,
    );
  }

  announceChange(): Promise<void> {
    return this.changes.announce();
  }

  watchChanges(onChange: () => void): () => void {
    return this.changes.watch(onChange);
  }

  /** In this host's queue.dir: reachable while the process runs. */
  async unreachable(): Promise<string | undefined> {
    return undefined;
  }

  /** Lets go of the claims still held (deliveries in flight at shutdown) and closes the environment. */
  async close(): Promise<void> {
    this.changes.close();
    await this.claims.releaseAll();
    await this.db.root.close();
  }

  /**
   * Writes the pieces, then the envelope `envelopeFor(size)` with the last piece in one
   * commit: conditional on `onBehalfOf`, else on no envelope of that ID being there
   * (undefined when there was). Whatever fails, nothing deliverable is left.
   */
  private async write(id: string, pieces: AsyncIterable<Buffer | string>, envelopeFor: (size: number) => Envelope, data: Readable, onBehalfOf?: QueueClaim): Promise<Envelope | undefined> {
    const writer = new ChunkWriter(this.db, this.layout.lmdb, id);
    try {
      for await (const piece of pieces) await writer.add(typeof piece === 'string' ? Buffer.from(piece) : piece);
      const envelope = envelopeFor(writer.size);
      const text = JSON.stringify(envelope);
      const commitMessage = (): void => {
        writer.putLast();
        void this.db.envelopes.put(id, text);
      };
      if (onBehalfOf !== undefined) await this.claims.fenced(onBehalfOf, commitMessage);
      else if (!(await committed(this.db.envelopes.ifNoExists(id, commitMessage), this.layout.lmdb))) return undefined;
      return envelope;
    } catch (err) {
      abandon(data);
      await writer.discard().catch((failure: Error) => {
        this.logger.error({ queueId: id, err: failure.message }, 'cannot remove a partly stored message; it is removed when the queue is next opened an hour from now');
      });
      throw err;
    }
  }

  private load(id: string): LoadedEnvelope {
    const text = this.db.envelopes.get(id);
    if (text === undefined) return { kind: 'missing' };
    const decoded = decodeEnvelope(text, id);
    return decoded.ok ? { kind: 'found', envelope: decoded.envelope } : { kind: 'damaged', problem: decoded.problem };
  }

  private async quarantine(id: string, problem: string): Promise<CheckedEntry> {
    await quarantineLmdbMessage(this.db, this.layout, id, problem, this.logger);
    return { kind: 'quarantined', problem };
  }

  private dataProblem(envelope: Envelope): string | undefined {
    const bytes = storedBytes(this.db, envelope.id);
    return bytes === envelope.size ? undefined : `message data has ${bytes} bytes, the envelope says ${envelope.size}`;
  }
}
