import { Transform, type TransformCallback } from 'node:stream';
import type { HopLimit } from './hopLimit.js';
import { DataRefusal, type MessageDataGuard } from './messageDataGuard.js';

/**
 * The message as the spool reads it: our Received header, then the client's data as the
 * guard passes it on, its trace fields counted by the hop limit (which so does not count
 * the header we add). A refusal of either ends the stream with that DataRefusal.
 *
 * One stream stage for all three: as a Transform each, joined by a pipeline and an async
 * generator, they cost three times the CPU per message — the streams' machinery, not the
 * checks.
 */
export class MessageData extends Transform {
  constructor(
    header: string,
    private readonly guard: MessageDataGuard,
    private readonly hops: HopLimit,
  ) {
    super();
    // waits in the readable side until the spool reads: nothing is written before that
    this.push(Buffer.from(header));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pass(this.guard.accept(chunk), done);
  }

  override _flush(done: TransformCallback): void {
    this.pass(this.guard.finish(), done);
  }

  private pass(out: Buffer | DataRefusal | undefined, done: TransformCallback): void {
    if (out === undefined || out instanceof DataRefusal) {
      done(out ?? null);
      return;
    }
    const tooManyHops = this.hops.count(out);
    if (tooManyHops) done(tooManyHops);
    else done(null, out);
  }
}
