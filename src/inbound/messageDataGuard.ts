import { Transform, type TransformCallback } from 'node:stream';
import type { BareLineEndingMode } from '../config/types.js';

/** An SMTP refusal raised while reading DATA; `responseCode` is what smtp-server answers. */
export class DataRefusal extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

const NUL = 0x00;
const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');

export interface MessageDataGuardOptions {
  bareLineEndings: BareLineEndingMode;
  maxSize: number;
}

/**
 * Sits between smtp-server's DATA stream (already dot-unstuffed, lines ending in CRLF)
 * and the spool. It refuses or repairs bare CR and bare LF — the raw material of SMTP
 * smuggling, where a next hop reads `<LF>.<LF>` as the end of one message and the start
 * of another — and stops a body that grows past the size limit. A CR at the end of one
 * chunk is held back until the next chunk shows whether an LF follows, so a split across
 * network reads cannot hide a bare CR.
 *
 * A NUL byte is refused in either mode: RFC 5321 forbids it in text, and a next hop that
 * strips NULs would read `<CRLF>NUL.<CRLF>` as `<CRLF>.<CRLF>`. Normalizing it away here
 * would change the message's content, not just its line endings.
 */
export class MessageDataGuard extends Transform {
  private pendingCr = false;
  private bytes = 0;

  constructor(private readonly options: MessageDataGuardOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.options.maxSize) {
      done(new DataRefusal(552, `5.3.4 Message size exceeds fixed limit of ${this.options.maxSize} bytes`));
      return;
    }
    if (chunk.includes(NUL)) {
      done(new DataRefusal(550, '5.5.2 Error: NUL character received'));
      return;
    }
    const out = this.scan(chunk);
    if (out instanceof DataRefusal) done(out);
    else done(null, out);
  }

  override _flush(done: TransformCallback): void {
    if (!this.pendingCr) {
      done();
      return;
    }
    this.pendingCr = false;
    if (this.options.bareLineEndings === 'reject') done(bareLineEndingRefusal());
    else done(null, CRLF);
  }

  /** Returns the bytes to pass on, or the refusal. */
  private scan(chunk: Buffer): Buffer | DataRefusal {
    const normalize = this.options.bareLineEndings === 'normalize';
    const parts: Buffer[] = [];
    let start = 0;
    let index = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] === LF) {
        parts.push(CRLF);
        start = index = 1;
      } else if (normalize) {
        parts.push(CRLF);
      } else {
        return bareLineEndingRefusal();
      }
    }
    for (; index < chunk.length; index++) {
      const byte = chunk[index];
      if (byte === CR) {
        if (index + 1 === chunk.length) {
          parts.push(chunk.subarray(start, index));
          this.pendingCr = true;
          start = chunk.length;
          break;
        }
        if (chunk[index + 1] === LF) {
          index++;
          continue;
        }
      } else if (byte !== LF) {
        continue;
      }
      // a bare CR (not followed by LF) or a bare LF (not preceded by CR)
      if (!normalize) return bareLineEndingRefusal();
      parts.push(chunk.subarray(start, index), CRLF);
      start = index + 1;
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

function bareLineEndingRefusal(): DataRefusal {
  return new DataRefusal(550, '5.5.2 Error: bare <CR> or <LF> received');
}
