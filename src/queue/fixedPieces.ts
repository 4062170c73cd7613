/**
 * Cuts a message's bytes, in pieces of whatever size they arrive, into pieces of `size`
 * bytes (the last one shorter): how the stores that keep a message in records write it,
 * so that no record is the whole message.
 */
export class FixedPieces {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly size: number) {}

  /** Takes `piece`; returns the full pieces it completes, in order. */
  add(piece: Buffer): Buffer[] {
    this.pending.push(piece);
    this.pendingBytes += piece.length;
    const full: Buffer[] = [];
    while (this.pendingBytes >= this.size) {
      const all = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = all.length > this.size ? [all.subarray(this.size)] : [];
      this.pendingBytes = all.length - this.size;
      full.push(all.subarray(0, this.size));
    }
    return full;
  }

  /** The bytes left over, the last piece; undefined when there are none. */
  rest(): Buffer | undefined {
    if (this.pendingBytes === 0) return undefined;
    const last = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return last;
  }
}
