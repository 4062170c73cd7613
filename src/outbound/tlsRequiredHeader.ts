import type { Readable } from 'node:stream';

// RFC 8689 §5: a message whose header has `TLS-Required: No` asks that the recipient
// domain's published policies (DANE, MTA-STS) not hold it up; the connector's own level
// still does. Read from the stored message at delivery, only its header section.

/** More header than this is not looked at: the field is read from what fits (mail headers are rarely a tenth of it). */
const MAX_HEADER_BYTES = 256 * 1024;

/**
 * Whether a header section (CRLF lines, up to the empty line) has a TLS-Required field
 * whose value is `No` (case-free, folding and spaces ignored). Only the first such field
 * counts; RFC 8689 allows one.
 */
export function saysTlsNotRequired(header: string): boolean {
  const unfolded = header.replace(/\r?\n[ \t]+/g, ' ');
  const field = /^TLS-Required[ \t]*:(.*)$/im.exec(unfolded);
  return field !== null && field[1]!.trim().toLowerCase() === 'no';
}

/** Reads the header section of a stored message; a read that fails counts as no such field (the policies apply). */
export async function tlsRequiredNo(open: () => Readable): Promise<boolean> {
  let stream: Readable | undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    stream = open();
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      chunks.push(buffer);
      size += buffer.length;
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.search(/\r?\n\r?\n/);
      if (end >= 0 || text.startsWith('\r\n')) return saysTlsNotRequired(text.slice(0, Math.max(end, 0)));
      if (size >= MAX_HEADER_BYTES) return saysTlsNotRequired(text);
    }
    return saysTlsNotRequired(Buffer.concat(chunks).toString('latin1'));
  } catch {
    return false;
  } finally {
    stream?.destroy();
  }
}
