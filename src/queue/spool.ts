import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { ChangeSignal } from './changeSignal.js';
import { commitFile, DIR_MODE, fsyncDirectory, pathExists } from './durableFile.js';
import { groupCommit } from './groupCommit.js';
import { decodeEnvelope, encodeEnvelope, envelopeProblem } from './envelopeCodec.js';
import { tryLock } from './messageLock.js';
import { LostClaimError, type CheckedEntry, type ClaimAttempt, type MessageQueue, type QueueClaim } from './messageQueue.js';
import { abandon, adoptedEnvelope, byArrival, incoming, incomingMessage } from './newEnvelope.js';
import { assertQueueId, isQueueId } from './queueId.js';
import { dataPath, envelopePath, idOfEnvelopeFile, lockPath, spoolLayout, type SpoolLayout } from './spoolLayout.js';
import { inspectEntry, quarantineMessage, recoverSpool } from './spoolRecovery.js';
import type { Envelope, NewMessage } from './types.js';

type LoadedEnvelope = { kind: 'found'; envelope: Envelope } | { kind: 'missing' } | { kind: 'damaged'; problem: string };

/**
 * The queue kept in files, one envelope and one data file per message (spoolLayout.ts);
 * a message's claim is its lock file (messageLock.ts). A message is committed when its
 * envelope is renamed into env/ — after its data file is fsync'd and renamed into data/
 * and that directory fsync'd — so whatever a crash interrupts, the spool holds either
 * the whole message or nothing that could be delivered.
 */
export class Spool implements MessageQueue {
  /** Concurrent stores, updates and removals share their directory fsyncs (group commit). */
  private readonly syncDataDirectory: () => Promise<void>;
  private readonly syncEnvelopeDirectory: () => Promise<void>;
  /** The claims taken through this spool and not released yet: close() ends them. */
  private readonly claims = new Set<QueueClaim>();

  private constructor(
    private readonly layout: SpoolLayout,
    private readonly logger: Logger,
    private readonly changes: ChangeSignal,
  ) {
    this.syncDataDirectory = groupCommit(() => fsyncDirectory(layout.data));
    this.syncEnvelopeDirectory = groupCommit(() => fsyncDirectory(layout.env));
  }

  /** Creates the folders as needed and recovers from a crash (see spoolRecovery.ts). */
  static async open(dir: string, logger: Logger): Promise<Spool> {
    const layout = spoolLayout(resolve(dir));
    try {
      for (const folder of [layout.root, layout.tmp, layout.data, layout.env, layout.quarantine, layout.lock, layout.control]) {
        await mkdir(folder, { recursive: true, mode: DIR_MODE });
      }
      await recoverSpool(layout, logger);
      return new Spool(layout, logger, await ChangeSignal.open(layout.control, logger));
    } catch (err) {
      throw new Error(`cannot open the spool at ${layout.root}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Streams the message to disk and commits it with its envelope. Rejects — leaving
   * nothing behind — when `data` errors or closes early, or when a write fails.
   * `onBehalfOf`: the claim of the message this one reports on (a DSN), which must still
   * be held when the new envelope is committed (else LostClaimError).
   */
  async store(message: NewMessage, data: Readable, onBehalfOf?: QueueClaim): Promise<Envelope> {
    const { id, pieces, envelopeFor } = incomingMessage(message, data);
    try {
      const size = await commitFile(this.tmpPath(id, 'data'), dataPath(this.layout, id), pieces, this.syncDataDirectory);
      const envelope = envelopeFor(size);
      await this.writeEnvelope(envelope, onBehalfOf);
      return envelope;
    } catch (err) {
      abandon(data);
      await this.discard(id);
      throw err;
    }
  }

  /** A message moved in from another store: its data file, then its envelope as it was (see MessageQueue). */
  async adopt(envelope: Envelope, data: Readable): Promise<boolean> {
    const sized = adoptedEnvelope(envelope, data);
    if (await pathExists(envelopePath(this.layout, envelope.id))) {
      abandon(data);
      return false;
    }
    try {
      const size = await commitFile(this.tmpPath(envelope.id, 'data'), dataPath(this.layout, envelope.id), incoming(data), this.syncDataDirectory);
      await this.writeEnvelope(sized(size));
      return true;
    } catch (err) {
      abandon(data);
      await this.discard(envelope.id);
      throw err;
    }
  }

  /** All committed messages, oldest first. A damaged envelope is quarantined (or, while locked, skipped) and left out. */
  async list(): Promise<Envelope[]> {
    const envelopes: Envelope[] = [];
    for (const name of await readdir(this.layout.env)) {
      const id = idOfEnvelopeFile(name);
      if (!isQueueId(id)) continue;
      const loaded = await this.load(id);
      if (loaded.kind === 'found') envelopes.push(loaded.envelope);
      if (loaded.kind === 'damaged') await this.quarantineIfUnlocked(id, loaded.problem);
    }
    return envelopes.sort(byArrival);
  }

  /**
   * Takes the message's lock (messageLock.ts). Whoever changes an envelope holds it and
   * reads the envelope under it with check(); `busy` names the live holder.
   */
  async claim(id: string): Promise<ClaimAttempt> {
    assertQueueId(id);
    const attempt = await tryLock(lockPath(this.layout, id), this.layout.tmp);
    if (attempt.kind === 'busy') return attempt;
    const { claims } = this;
    const lock = attempt.claim;
    const claim: QueueClaim = {
      confirm: () => lock.confirm(),
      async release() {
        claims.delete(claim);
        await lock.release();
      },
    };
    claims.add(claim);
    return { kind: 'claimed', claim };
  }

  /**
   * The message as it is now, checked as recovery checks it at open (valid envelope, data
   * file of the recorded size); a damaged one is moved to quarantine. Call under the claim.
   */
  async check(id: string): Promise<CheckedEntry> {
    assertQueueId(id);
    const inspected = await inspectEntry(this.layout, id);
    if (inspected.kind === 'sound') return { kind: 'found', envelope: inspected.envelope };
    if (inspected.kind === 'missing') return inspected;
    await quarantineMessage(this.layout, id, inspected.problem, this.logger);
    return { kind: 'quarantined', problem: inspected.problem };
  }

  /** Tells a running relay (see watchChanges) that another process changed the spool. */
  announceChange(): Promise<void> {
    return this.changes.announce();
  }

  /** Calls `onChange` whenever announceChange() is called, by any process; returns the stop function. */
  watchChanges(onChange: () => void): () => void {
    return this.changes.watch(onChange);
  }

  /** In this host's queue.dir: reachable while the process runs. */
  async unreachable(): Promise<string | undefined> {
    return undefined;
  }

  /**
   * Nothing is held open between calls; what is left are watchers and claims not let go
   * (deliveries still in flight at shutdown): their locks are removed, so that another
   * process need not wait for the stale age, and writes made with them afterwards are
   * refused. The last lock gone stops the refresh timer (messageLock.ts).
   */
  async close(): Promise<void> {
    this.changes.close();
    await Promise.all([...this.claims].map((claim) => claim.release()));
  }

  /** The envelope, or undefined when no such message is queued; throws for a damaged one. */
  async read(id: string): Promise<Envelope | undefined> {
    assertQueueId(id);
    const loaded = await this.load(id);
    if (loaded.kind === 'damaged') throw new Error(`envelope ${id} is damaged: ${loaded.problem}`);
    return loaded.kind === 'found' ? loaded.envelope : undefined;
  }

  /** A fresh stream of the stored message; a missing one errors on the stream (ENOENT). */
  openData(id: string): Readable {
    assertQueueId(id);
    return createReadStream(dataPath(this.layout, id));
  }

  /**
   * Replaces the envelope atomically. Only for a message still in the queue, by the
   * holder of its claim: a lock taken over since (see messageLock.ts) refuses the write
   * with LostClaimError, checked last before the new envelope is renamed into place.
   */
  async update(envelope: Envelope, claim: QueueClaim): Promise<void> {
    assertQueueId(envelope.id);
    const problem = envelopeProblem(envelope);
    if (problem !== undefined) throw new Error(`refusing to write envelope ${envelope.id}: ${problem}`);
    // Writing the envelope of a removed message would bring back a message without data.
    if (!(await pathExists(envelopePath(this.layout, envelope.id)))) throw new Error(`message ${envelope.id} is not in the queue`);
    await this.writeEnvelope(envelope, claim);
  }

  /**
   * By the holder of the message's claim, as update(). Envelope first: a crash before the
   * data file goes leaves only an orphan that open() removes.
   */
  async remove(id: string, claim: QueueClaim): Promise<void> {
    assertQueueId(id);
    await stillHeld(claim);
    await rm(envelopePath(this.layout, id), { force: true });
    await this.syncEnvelopeDirectory();
    await rm(dataPath(this.layout, id), { force: true });
  }

  private async writeEnvelope(envelope: Envelope, claim?: QueueClaim): Promise<void> {
    const confirm = claim && (() => stillHeld(claim));
    await commitFile(this.tmpPath(envelope.id, 'json'), envelopePath(this.layout, envelope.id), [encodeEnvelope(envelope)], this.syncEnvelopeDirectory, confirm);
  }

  /** Unique per write, so that two updates of one envelope never share a tmp file. */
  private tmpPath(id: string, kind: 'data' | 'json'): string {
    return join(this.layout.tmp, `${id}.${randomBytes(4).toString('hex')}.${kind}`);
  }

  private async load(id: string): Promise<LoadedEnvelope> {
    let text: string;
    try {
      text = await readFile(envelopePath(this.layout, id), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'damaged', problem: (err as Error).message };
    }
    const decoded = decodeEnvelope(text, id);
    return decoded.ok ? { kind: 'found', envelope: decoded.envelope } : { kind: 'damaged', problem: decoded.problem };
  }

  private async quarantineIfUnlocked(id: string, problem: string): Promise<void> {
    const attempt = await this.claim(id);
    if (attempt.kind === 'busy') {
      this.logger.warn({ queueId: id, reason: problem }, 'damaged envelope skipped while another process holds it');
      return;
    }
    try {
      await this.check(id);
    } finally {
      await attempt.claim.release();
    }
  }

  /** Undoes a failed store(), envelope first; whatever cannot be removed now, open() deals with later. */
  private async discard(id: string): Promise<void> {
    for (const file of [envelopePath(this.layout, id), dataPath(this.layout, id)]) {
      await rm(file, { force: true }).catch((err: Error) => {
        this.logger.error({ queueId: id, file, err: err.message }, 'cannot remove a partly stored message');
      });
    }
  }
}

async function stillHeld(claim: QueueClaim): Promise<void> {
  const check = await claim.confirm();
  if (check.kind === 'lost') throw new LostClaimError(check.holder);
}

