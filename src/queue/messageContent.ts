import { isAscii } from 'node:buffer';
import type { MessageContent } from './types.js';

/** The empty line that ends the header section, with the line end in front of it. */
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Learns, chunk by chunk as a message is stored, which of its parts have octets above
 * 127: the header section (what SMTPUTF8 is about) and the body (8BITMIME). The header
 * ends at the first empty line, which may be split across chunks; the scan starts as if
 * a line end came before the first byte, so a message that begins with an empty line
 * has an empty header. Message data has CRLF line ends by then (the inbound guard and
 * the DSN builder see to that). Each chunk is judged by native searches, never byte by
 * byte in JavaScript.
 */
export class ContentScan {
  private inHeader = true;
  /** The header's last bytes (at most 3), to find an empty line that a chunk boundary cuts. */
  private tail: Buffer = Buffer.from('\r\n');
  private header8bit = false;
  private body8bit = false;

  add(chunk: Buffer): void {
    if (!this.inHeader) {
      if (!this.body8bit && !isAscii(chunk)) this.body8bit = true;
      return;
    }
    const end = this.headerEnd(chunk);
    if (end === undefined) {
      if (!isAscii(chunk)) this.header8bit = true;
      this.tail = Buffer.concat([this.tail, chunk]).subarray(-3);
      return;
    }
    this.inHeader = false;
    // `end` is where the empty line's CRLF CRLF starts, counted in this chunk (it may start in the tail)
    const header = chunk.subarray(0, Math.max(0, end + 2));
    if (!isAscii(header)) this.header8bit = true;
    this.add(chunk.subarray(end + HEADER_END.length));
  }

  result(): MessageContent {
    return { header: this.header8bit ? '8bit' : '7bit', body: this.body8bit ? '8bit' : '7bit' };
  }

  /** Where CRLF CRLF starts in `chunk` (negative: in the tail), or undefined when it is not there. */
  private headerEnd(chunk: Buffer): number | undefined {
    const edge = Buffer.concat([this.tail, chunk.subarray(0, HEADER_END.length - 1)]).indexOf(HEADER_END);
    if (edge >= 0) return edge - this.tail.length;
    const inside = chunk.indexOf(HEADER_END);
    return inside >= 0 ? inside : undefined;
  }
}
