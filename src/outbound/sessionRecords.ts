import { pipeline, Transform, type Readable } from 'node:stream';
import type { MessageProgress } from './messageProgress.js';

/**
 * The records of what one session's next hop answered, made while the session goes on —
 * but a message's final dot, after which the next hop may take it, goes out only once the
 * records begun before are written. So at most one message the next hop has taken is
 * unrecorded at any moment (what a crash would send again), and each write overlaps the
 * next transaction's commands rather than holding them up.
 */
export class SessionRecords {
  private pending: Promise<void> | undefined;
  private failure: unknown;

  /** Begins recording what the message's last answer settled or delivered (MessageProgress.recordReplies). */
  record(progress: MessageProgress): void {
    // a failed record surfaces in settled(), not as an unhandled rejection meanwhile
    const recording = progress.recordReplies().catch((err: unknown) => {
      this.failure ??= err;
    });
    const all = this.pending === undefined ? recording : Promise.all([this.pending, recording]).then(() => undefined);
    this.pending = all;
    void all.then(() => {
      if (this.pending === all) this.pending = undefined;
    });
  }

  /** The message's data as `openData` gives it, ending only once the records begun so far are written. */
  data(openData: () => Readable): () => Readable {
    const pending = this.pending;
    return pending === undefined ? openData : () => endingAfter(openData(), pending);
  }

  /** Resolves once every record begun is written, before the session carries anything else (parked, handed over, closed); rejects if one failed. */
  async settled(): Promise<void> {
    await this.pending;
    if (this.failure !== undefined) throw this.failure;
  }
}

/** The stream as it is, except that it ends only once `until` has resolved. */
function endingAfter(data: Readable, until: Promise<void>): Readable {
  const held = new Transform({
    transform: (chunk, _encoding, callback) => callback(null, chunk),
    flush: (callback) => void until.then(() => callback()),
  });
  // an error of the stored message's stream reaches the client, and a client that stops reading closes the file
  return pipeline(data, held, () => undefined);
}
