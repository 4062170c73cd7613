import type { Readable } from 'node:stream';

/** Of a message whose sender asked for RET=FULL, at most this much is returned in full. */
export const FULL_RETURN_LIMIT = 1024 * 1024;
/** A header section longer than this is cut at a line end. */
export const HEADER_LIMIT = 256 * 1024;

/** What of the original message a DSN carries. Bytes have CRLF line endings. */
export type ReturnedContent =
  | { kind: 'message'; bytes: Buffer }
  | { kind: 'headers'; bytes: Buffer; tooBigForFull: boolean }
  | { kind: 'unreadable'; reason: string };

/**
 * Reads as much of `original` as the DSN needs — the header section, or the whole
 * message up to FULL_RETURN_LIMIT — and destroys the stream, so a large body is never
 * read for nothing. A stream that fails (a missing data file) gives 'unreadable'.
 */
export async function readReturnedContent(original: Readable, want: 'message' | 'headers'): Promise<ReturnedContent> {
  const limit = want === 'message' ? FULL_RETURN_LIMIT : HEADER_LIMIT;
  const chunks: Buffer[] = [];
  let length = 0;
  let complete = true;
  try {
    for await (const chunk of original) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      chunks.push(bytes);
      length += bytes.length;
      if (length > limit || (want === 'headers' && headerEnd(Buffer.concat(chunks)) >= 0)) {
        complete = false;
        break;
      }
    }
  } catch (err) {
    return { kind: 'unreadable', reason: (err as Error).message };
  } finally {
    original.destroy();
  }
  const bytes = Buffer.concat(chunks);
  if (want === 'message' && complete) return { kind: 'message', bytes: withCrlf(bytes) };
  return { kind: 'headers', bytes: withCrlf(headerSection(bytes, complete)), tooBigForFull: want === 'message' };
}

/** Index just past the last header line's line ending, or -1 when the blank line is not there yet. */
function headerEnd(bytes: Buffer): number {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : -1;
}

function headerSection(bytes: Buffer, complete: boolean): Buffer {
  const end = headerEnd(bytes);
  if (end >= 0 && end <= HEADER_LIMIT) return bytes.subarray(0, end);
  // No blank line within the limit: a message that is all header, or a cut one.
  if (complete && bytes.length <= HEADER_LIMIT) return bytes;
  const head = bytes.subarray(0, HEADER_LIMIT);
  return head.subarray(0, head.lastIndexOf('\n') + 1);
}

/** CRLF everywhere, ending with one. Latin-1 maps bytes 1:1, so 8-bit content survives. */
function withCrlf(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  return Buffer.from(text.endsWith('\r\n') || text === '' ? text : text + '\r\n', 'latin1');
}
