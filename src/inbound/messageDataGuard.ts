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
/** RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets, its CRLF included. */
export const MAX_LINE_OCTETS = 998;

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
 *
 * So is a line longer than 998 octets before its CRLF (RFC 5321 §4.5.3.1.6): next hops
 * may refuse or cut it, and folding it on the way out, as Postfix does, would change the
 * message under its DKIM signature. It is refused as soon as it is seen to be too long.
 */
export class MessageDataGuard extends Transform {
  private pendingCr = false;
  private bytes = 0;
  /** Octets of the line under way that have been passed on (a CR held back not counted). */
  private lineOctets = 0;

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
    else if (!this.linesFit(out)) done(lineTooLongRefusal());
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

  /**
   * Whether every line in `out` (CRLF line ends only, by now) and the line it leaves
   * open fit in MAX_LINE_OCTETS. Counted with native searches for LF, not byte by byte.
   */
  private linesFit(out: Buffer): boolean {
    let start = 0;
    for (let lf = out.indexOf(LF); lf >= 0; lf = out.indexOf(LF, start)) {
      // the CR in front of the LF is no part of the line
      if (this.lineOctets + (lf - start) - 1 > MAX_LINE_OCTETS) return false;
      this.lineOctets = 0;
      start = lf + 1;
    }
    this.lineOctets += out.length - start;
    return this.lineOctets <= MAX_LINE_OCTETS;
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

function lineTooLongRefusal(): DataRefusal {
  return new DataRefusal(550, `5.5.2 Error: message line longer than ${MAX_LINE_OCTETS + 2} octets, CRLF included (RFC 5321 4.5.3.1.6)`);
}

function bareLineEndingRefusal(): DataRefusal {
  return new DataRefusal(550, '5.5.2 Error: bare <CR> or <LF> received');
}
