import type { Readable } from 'node:stream';
import { envelopeProblem } from './envelopeCodec.js';
import { ContentScan } from './messageContent.js';
import { assertQueueId, newQueueId } from './queueId.js';
import type { Envelope, NewMessage } from './types.js';

/** The envelope of a message just received, before its size and content are known: due at once. */
export function newEnvelope(id: string, receivedAt: Date, message: NewMessage): Envelope {
  const at = receivedAt.toISOString();
  return {
    id,
    receivedAt: at,
    from: message.from,
    recipients: message.recipients.map((rcpt) => ({ ...rcpt, state: 'pending' })),
    size: 0,
    nextAttemptAt: at,
    attempts: [],
    ...(message.ret ? { ret: message.ret } : {}),
    ...(message.envid !== undefined ? { envid: message.envid } : {}),
    ...(message.body ? { body: message.body } : {}),
    ...(message.smtputf8 ? { smtputf8: message.smtputf8 } : {}),
    ...(message.tlsReport ? { tlsReport: message.tlsReport } : {}),
    ...(message.requireTls ? { requireTls: message.requireTls } : {}),
    deferrals: 0,
  };
}

/** The chunks as they come, each shown to `scan` on its way to the store. */
export async function* scanned(chunks: AsyncIterable<Buffer | string>, scan: ContentScan): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    scan.add(bytes);
    yield bytes;
  }
}

/** The caller's stream, read without destroying it when the store stops early: a failed store drains it (abandon). */
export function incoming(data: Readable): AsyncIterable<Buffer | string> {
  return data.iterator({ destroyOnReturn: false });
}

/**
 * A store gave up on a stream whose producer (an SMTP session) may still be sending:
 * drain it so the producer is not left blocked, and ignore its late errors.
 */
export function abandon(source: Readable): void {
  source.on('error', () => undefined);
  source.resume();
}

/** Oldest first: the order list() promises. */
export function byArrival(a: Envelope, b: Envelope): number {
  return Date.parse(a.receivedAt) - Date.parse(b.receivedAt) || a.id.localeCompare(b.id);
}

/** A message store() is about to write, in any store: its ID, its bytes as they come (scanned), and its envelope once their size is known. */
export interface IncomingMessage {
  id: string;
  pieces: AsyncIterable<Buffer>;
  envelopeFor(size: number): Envelope;
}

/** The message received now, with a new ID; refused (the stream drained) when its envelope could not be stored. */
export function incomingMessage(message: NewMessage, data: Readable): IncomingMessage {
  const receivedAt = new Date();
  const draft = newEnvelope(newQueueId(receivedAt.getTime()), receivedAt, message);
  const problem = envelopeProblem(draft);
  if (problem !== undefined) {
    abandon(data);
    throw new Error(`cannot queue this message: ${problem}`);
  }
  const content = new ContentScan();
  return { id: draft.id, pieces: scanned(incoming(data), content), envelopeFor: (size) => ({ ...draft, size, content: content.result() }) };
}

/**
 * A message adopt() takes in as it was: `envelope` checked (refused, the stream drained,
 * when it is not one), and the envelope for the bytes that came — refused unless they are
 * as many as it says.
 */
export function adoptedEnvelope(envelope: Envelope, data: Readable): (size: number) => Envelope {
  assertQueueId(envelope.id);
  const problem = envelopeProblem(envelope);
  if (problem !== undefined) {
    abandon(data);
    throw new Error(`refusing to adopt envelope ${envelope.id}: ${problem}`);
  }
  return (size) => {
    if (size !== envelope.size) throw new Error(`message ${envelope.id} has ${size} bytes, its envelope says ${envelope.size}`);
    return envelope;
  };
}
