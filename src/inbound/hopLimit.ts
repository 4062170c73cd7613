import { DataRefusal } from './messageDataGuard.js';

/**
 * The header fields that mark a hop: `Received`, which every MTA on the way adds
 * (RFC 5321 §4.4), and `Delivered-To`, which a mailbox delivery adds before the mail is
 * forwarded (Postfix's local(8), qmail). `X-Original-To` is not one: Postfix writes it
 * beside `Delivered-To` at the same delivery, so counting it would count that hop twice.
 */
const TRACE_FIELDS = new Set(['received', 'delivered-to']);
/** A field name longer than this is no trace field; its characters need not be kept. */
const LONGEST_TRACE_FIELD = Math.max(...[...TRACE_FIELDS].map((name) => name.length));

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** Where the scan stands in the header section; `body` means it is over. */
type Phase = 'line-start' | 'field-name' | 'rest-of-line' | 'body';

/** Printable US-ASCII except the colon: what a field name is made of (RFC 5322 §3.6.8). */
function isFieldNameByte(byte: number): boolean {
  return byte > SP && byte < 0x7f && byte !== COLON;
}

/**
 * Counts the trace fields (see TRACE_FIELDS) of the message as its chunks pass (MessageData
 * feeds it), in the header section only: up to the first empty line, or the first line
 * that is neither a field nor a continuation (such a line starts the body, as Postfix's
 * parser reads it).
 * Names are compared case-insensitively and may be split across chunks; nothing is
 * buffered but the start of the current field name, and the body is not looked at.
 * More trace fields than `maxHops` is a mail loop: `554 5.4.6 Too many hops`.
 *
 * It counts what MessageDataGuard passed on, so every line ends in CRLF; a CR is skipped and the
 * LF ends the line.
 */
export class HopLimit {
  private phase: Phase = 'line-start';
  /** The field name so far, lower-cased, while it can still be a trace field. */
  private name = '';
  private nameTooLong = false;
  /** Whitespace came after the name: only more whitespace or the colon may follow (obsolete syntax, RFC 5322 §4.5). */
  private afterName = false;
  private hops = 0;

  constructor(private readonly maxHops: number) {}

  /** Counts the trace fields `chunk` completes: the refusal once there are too many, else undefined. */
  count(chunk: Buffer): DataRefusal | undefined {
    if (this.phase !== 'body') this.scan(chunk);
    return this.hops > this.maxHops ? new DataRefusal(554, '5.4.6 Too many hops', 'hops') : undefined;
  }

  private scan(chunk: Buffer): void {
    for (let index = 0; index < chunk.length && this.phase !== 'body'; index++) {
      const byte = chunk[index] as number;
      if (byte === CR) continue;
      switch (this.phase) {
        case 'line-start':
          if (byte === LF) this.phase = 'body';
          else if (byte === SP || byte === HT) this.phase = 'rest-of-line';
          else if (isFieldNameByte(byte)) this.startName(byte);
          else this.phase = 'body';
          break;
        case 'field-name':
          this.continueName(byte);
          break;
        case 'rest-of-line':
          if (byte === LF) this.phase = 'line-start';
          break;
      }
    }
  }

  private startName(byte: number): void {
    this.phase = 'field-name';
    this.name = '';
    this.nameTooLong = false;
    this.afterName = false;
    this.appendToName(byte);
  }

  private continueName(byte: number): void {
    if (byte === COLON) {
      if (!this.nameTooLong && TRACE_FIELDS.has(this.name)) this.hops++;
      this.phase = 'rest-of-line';
    } else if (byte === SP || byte === HT) {
      this.afterName = true;
    } else if (isFieldNameByte(byte) && !this.afterName) {
      this.appendToName(byte);
    } else {
      // a line without a colon, or with a space inside the name: not a field, so the body begins
      this.phase = 'body';
    }
  }

  private appendToName(byte: number): void {
    if (this.nameTooLong) return;
    if (this.name.length === LONGEST_TRACE_FIELD) {
      this.nameTooLong = true;
      this.name = '';
      return;
    }
    this.name += String.fromCharCode(byte).toLowerCase();
  }
}
