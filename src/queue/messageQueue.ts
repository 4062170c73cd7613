import type { Readable } from 'node:stream';
import type { Envelope, NewMessage } from './types.js';

/**
 * The queue between inbound and outbound, as every store implements it (the file spool,
 * the embedded store, a shared store of several relays): inbound stores, the delivery
 * agent claims, delivers and records, `tlsrelay queue …` lists and changes — none of
 * them knows how the store keeps what it keeps.
 *
 * Every change of a queued message is made by the holder of its claim, on the envelope
 * read afresh under it (check): no process writes over another's change, whether the
 * relay runs or not. A holder can lose its claim (it stalled and another process took
 * over); every write made with a claim is refused then (LostClaimError), so what the new
 * holder records stands.
 */
export interface MessageQueue {
  /**
   * Stores the message and its envelope durably: resolved only once both survive a crash
   * (the 250 follows). Rejects — leaving nothing deliverable behind — when `data` errors
   * or ends early, or a write fails. `onBehalfOf`: the claim of the message this one
   * reports on (a DSN), which must still be held when the new message is committed.
   */
  store(message: NewMessage, data: Readable, onBehalfOf?: QueueClaim): Promise<Envelope>;
  /**
   * Takes in a message from another store as it was there — same ID, same envelope — for
   * moving the queue between stores (openQueue.ts): resolved once durable, as store().
   * False, with nothing written, when a message of that ID is here already (an earlier
   * move that was cut short after the copy). Rejects, leaving nothing, when `data` fails
   * or does not have the envelope's size.
   */
  adopt(envelope: Envelope, data: Readable): Promise<boolean>;
  /** Every committed message, oldest first; a damaged one is quarantined (or skipped while claimed) and left out. */
  list(): Promise<Envelope[]>;
  /** The envelope, or undefined when no such message is queued; throws for a damaged one. */
  read(id: string): Promise<Envelope | undefined>;
  /** A fresh stream of the stored message; a missing one errors on the stream. */
  openData(id: string): Readable;
  /** Claims the message unless a live holder has it (then `busy` names the holder, when known). */
  claim(id: string): Promise<ClaimAttempt>;
  /** The message as it is now, checked (valid envelope, data of the recorded size); a damaged one is quarantined. Under the claim. */
  check(id: string): Promise<CheckedEntry>;
  /** Replaces the envelope of a message still queued, atomically; LostClaimError when the claim was taken over. */
  update(envelope: Envelope, claim: QueueClaim): Promise<void>;
  /** Removes the message (envelope and data); LostClaimError when the claim was taken over. */
  remove(id: string, claim: QueueClaim): Promise<void>;
  /** Tells a running relay (watchChanges) that another process changed the queue. */
  announceChange(): Promise<void>;
  /** Calls `onChange` whenever announceChange() is called, by any process; returns the stop function. */
  watchChanges(onChange: () => void): () => void;
  /**
   * Why the store cannot be reached now (its database is down), or undefined: for /readyz.
   * A store in queue.dir is always reachable; whether that folder takes writes is checked apart.
   */
  unreachable(): Promise<string | undefined>;
  /** Releases what the store holds open (files, database handles); the queue is not used afterwards. */
  close(): Promise<void>;
}

/**
 * How long a claim lives without its holder: a holder refreshes its claims every
 * CLAIM_REFRESH_MS, and a claim not refreshed for CLAIM_STALE_MS is taken over — by the
 * processes of another host, which cannot tell whether its holder lives, even from a live
 * holder that stalled (stopped, paused or blocked) that long.
 */
export const CLAIM_REFRESH_MS = 10_000;
export const CLAIM_STALE_MS = 60_000;

/** Who holds a claim: `pid 1234 on relay-b since 2026-…`. */
export interface ClaimHolder {
  pid: number;
  host: string;
  /** Tells this holder's claim from a later one of the same process. */
  token: string;
  since: string;
}

export interface QueueClaim {
  /** Whether the claim is still this holder's, asked right before a write on its behalf. A claim found lost stays lost. */
  confirm(): Promise<ClaimCheck>;
  release(): Promise<void>;
}

export type ClaimCheck = { kind: 'held' } | { kind: 'lost'; holder: ClaimHolder | undefined };

export type ClaimAttempt = { kind: 'claimed'; claim: QueueClaim } | { kind: 'busy'; holder: ClaimHolder | undefined };

/** A message as read under its claim: ready to deliver or change, gone, or found damaged and quarantined. */
export type CheckedEntry = { kind: 'found'; envelope: Envelope } | { kind: 'missing' } | { kind: 'quarantined'; problem: string };

/** A write refused because the writer's claim was taken over (or removed) since it was made. */
export class LostClaimError extends Error {
  constructor(readonly holder: ClaimHolder | undefined) {
    super(holder ? `the message claim was taken over by ${describeHolder(holder)}` : 'the message claim is no longer there');
    this.name = 'LostClaimError';
  }
}

/** The holder as people read it: `pid 1234 on relay-b since 2026-…`. */
export function describeHolder(holder: ClaimHolder): string {
  return `pid ${holder.pid} on ${holder.host} since ${holder.since}`;
}
