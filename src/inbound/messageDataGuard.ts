import type { BareLineEndingMode } from '../config/types.js';
import type { RefusalReason } from '../policy/inbound.js';

/** An SMTP refusal raised while reading DATA; `responseCode` is what smtp-server answers. */
export class DataRefusal extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
    readonly reason: RefusalReason,
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
 * Judges the client's data between smtp-server's DATA stream (already dot-unstuffed, lines
 * ending in CRLF) and the spool, chunk by chunk as it arrives (MessageData feeds it). It
 * refuses or repairs bare CR and bare LF — the raw material of SMTP smuggling, where a next
 * hop reads `<LF>.<LF>` as the end of one message and the start of another — and stops a
 * body that grows past the size limit. A CR at the end of one chunk is held back until the
 * next chunk shows whether an LF follows, so a split across network reads cannot hide a
 * bare CR.
 *
 * A NUL byte is refused in either mode: RFC 5321 forbids it in text, and a next hop that
 * strips NULs would read `<CRLF>NUL.<CRLF>` as `<CRLF>.<CRLF>`. Normalizing it away here
 * would change the message's content, not just its line endings.
 *
 * So is a line longer than 998 octets before its CRLF (RFC 5321 §4.5.3.1.6): next hops
 * may refuse or cut it, and folding it on the way out, as Postfix does, would change the
 * message under its DKIM signature. It is refused as soon as it is seen to be too long.
 */
export class MessageDataGuard {
  private pendingCr = false;
  private bytes = 0;
  /** Octets of the line under way that have been passed on (a CR held back not counted). */
  private lineOctets = 0;

  constructor(private readonly options: MessageDataGuardOptions) {}

  /** The bytes of `chunk` to pass on (a CR at its end held back), or the refusal: then the data is refused whole. */
  accept(chunk: Buffer): Buffer | DataRefusal {
    this.bytes += chunk.length;
    if (this.bytes > this.options.maxSize) {
      return new DataRefusal(552, `5.3.4 Message size exceeds fixed limit of ${this.options.maxSize} bytes`, 'size');
    }
    if (chunk.includes(NUL)) {
      return new DataRefusal(550, '5.5.2 Error: NUL character received', 'nul');
    }
    const out = this.scan(chunk);
    if (out instanceof DataRefusal) return out;
    return this.linesFit(out) ? out : lineTooLongRefusal();
  }

  /** At the end of the data: the CRLF for a CR held back (normalize mode), or the refusal of it; undefined when none was. */
  finish(): Buffer | DataRefusal | undefined {
    if (!this.pendingCr) return undefined;
    this.pendingCr = false;
    return this.options.bareLineEndings === 'reject' ? bareLineEndingRefusal() : CRLF;
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

  /**
   * Returns the bytes to pass on, or the refusal. It goes from one CR or LF to the next with
   * native searches, not byte by byte: a CR followed by an LF is a line end, a CR last in the
   * chunk is held back, and any other CR or LF is bare.
   */
  private scan(chunk: Buffer): Buffer | DataRefusal {
    const normalize = this.options.bareLineEndings === 'normalize';
    const parts: Buffer[] = [];
    let start = 0;
    let from = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] === LF) {
        parts.push(CRLF);
        start = from = 1;
      } else if (normalize) {
        parts.push(CRLF);
      } else {
        return bareLineEndingRefusal();
      }
    }
    let cr = chunk.indexOf(CR, from);
    let lf = chunk.indexOf(LF, from);
    while (cr >= 0 || lf >= 0) {
      const index = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
      if (index === cr) {
        if (index + 1 === chunk.length) {
          parts.push(chunk.subarray(start, index));
          this.pendingCr = true;
          start = chunk.length;
          break;
        }
        if (chunk[index + 1] === LF) {
          cr = chunk.indexOf(CR, index + 2);
          lf = chunk.indexOf(LF, index + 2);
          continue;
        }
      }
      // a bare CR (not followed by LF) or a bare LF (not preceded by CR)
      if (!normalize) return bareLineEndingRefusal();
      parts.push(chunk.subarray(start, index), CRLF);
      start = index + 1;
      if (index === cr) cr = chunk.indexOf(CR, start);
      else lf = chunk.indexOf(LF, start);
    }
    if (parts.length === 0) return chunk;
    if (start < chunk.length) parts.push(chunk.subarray(start));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

function lineTooLongRefusal(): DataRefusal {
  return new DataRefusal(550, `5.5.2 Error: message line longer than ${MAX_LINE_OCTETS + 2} octets, CRLF included (RFC 5321 4.5.3.1.6)`, 'line-length');
}

function bareLineEndingRefusal(): DataRefusal {
  return new DataRefusal(550, '5.5.2 Error: bare <CR> or <LF> received', 'bare-line-endings');
}
