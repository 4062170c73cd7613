import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { DIR_MODE, FILE_MODE, fsyncDirectory } from '../queue/durableFile.js';
import { dayFileName, expiredFiles, transitDir, utcDay } from './dayFiles.js';
import { encodeRecord, type TransitRecord, type TransitSink } from './record.js';

// The batching writer of the transit record. Delivery hands a record over with add(),
// which only pushes it onto a list: no I/O on the delivery's path, and a disk that is
// slow, full or gone never holds up or fails a delivery. A timer appends the batch to
// the day files and fsyncs them; close() writes what is left. What a crash takes is the
// batch not yet written — records, never mail.

/** How often the batch is written. */
export const FLUSH_INTERVAL_MS = 1_000;
/** How often day files past the retention are looked for (and at the start). */
const PRUNE_INTERVAL_MS = 3_600_000;
/** Records kept while they cannot be written (a full disk); beyond that the oldest are dropped. */
const MAX_UNWRITTEN = 100_000;

/** A new one per process start: its files are its own (see dayFiles.ts). */
function newInstance(): string {
  return `${process.pid}-${randomBytes(3).toString('hex')}`;
}

export class TransitWriter implements TransitSink {
  private batch: TransitRecord[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** Day files of this instance that exist already: a new one needs its folder fsync'd once. */
  private readonly created = new Set<string>();
  /** Day files whose last write failed, perhaps half done: the next one begins on a new line. */
  private readonly torn = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  /** Set while writes fail, so that a failing disk is logged once and not every second. */
  private failing = false;
  private dropped = 0;

  private constructor(
    readonly dir: string,
    readonly instance: string,
    private readonly logger: Logger,
    /** ms, report.retention: a reload sets it anew (retainFor). */
    private retention: number,
  ) {}

  /** Starts writing into `<queueDir>/transit/` and deletes the day files past the retention. Never rejects. */
  static async open(queueDir: string, logger: Logger, retention: number): Promise<TransitWriter> {
    const writer = new TransitWriter(transitDir(queueDir), newInstance(), logger, retention);
    await writer.prune();
    writer.timers.push(setInterval(() => void writer.flush(), FLUSH_INTERVAL_MS), setInterval(() => void writer.prune(), PRUNE_INTERVAL_MS));
    for (const timer of writer.timers) timer.unref();
    return writer;
  }

  /** A reloaded report.retention, for the next look for old day files. */
  retainFor(retention: number): void {
    this.retention = retention;
  }

  add(record: TransitRecord): void {
    // a delivery that outlived the shutdown grace: its mail is still queued, only its record is not kept
    if (this.closed) return;
    this.batch.push(record);
    this.dropOverflow();
  }

  /** Writes the records added so far; resolves when they are on disk or kept again after a failure. */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.writeBatch());
    return this.writing;
  }

  /** Stops the timers and writes what is left. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
    if (this.batch.length > 0) this.logger.error({ records: this.batch.length, dir: this.dir }, 'transit records not written at shutdown are lost (the mail is not)');
  }

  private dropOverflow(): void {
    const excess = this.batch.length - MAX_UNWRITTEN;
    if (excess <= 0) return;
    this.batch.splice(0, excess);
    this.dropped += excess;
  }

  private async writeBatch(): Promise<void> {
    if (this.batch.length === 0) return;
    const days = [...byDay(this.batch)];
    this.batch = [];
    try {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      while (days.length > 0) {
        const [day, records] = days[0]!;
        await this.append(dayFileName(day, this.instance), records);
        days.shift();
      }
      if (this.failing || this.dropped > 0) this.logger.info({ dir: this.dir, dropped: this.dropped }, 'transit record written again');
      this.failing = false;
      this.dropped = 0;
    } catch (err) {
      // the days not written are kept, before whatever was added meanwhile
      this.batch = [...days.flatMap(([, records]) => records), ...this.batch];
      this.dropOverflow();
      if (!this.failing) this.logger.warn({ dir: this.dir, err: (err as Error).message, kept: this.batch.length }, 'cannot write the transit record; its records are kept and written again');
      this.failing = true;
    }
  }

  private async append(name: string, records: TransitRecord[]): Promise<void> {
    // after a failed write the file may end in half a line: an empty line is skipped, a glued one would not be
    const lines = (this.torn.has(name) ? '\n' : '') + records.map(encodeRecord).join('');
    this.torn.add(name);
    const handle = await open(join(this.dir, name), 'a', FILE_MODE);
    try {
      // the new file's name made durable before anything is written to it, so a failure here repeats nothing
      if (!this.created.has(name)) {
        await fsyncDirectory(this.dir);
        this.created.add(name);
      }
      await handle.appendFile(lines);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.torn.delete(name);
  }

  /** Deletes whole day files older than report.retention, whichever relay wrote them. Never rejects. */
  async prune(now = Date.now()): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ dir: this.dir, err: (err as Error).message }, 'cannot read the transit folder to delete old records');
      return;
    }
    const expired = expiredFiles(names, now, this.retention);
    if (expired.length === 0) return;
    try {
      // another relay on the spool may delete the same files: one already gone is no error
      for (const name of expired) await rm(join(this.dir, name), { force: true });
      this.logger.info({ dir: this.dir, files: expired }, 'transit record: day files past report.retention deleted');
    } catch (err) {
      this.logger.warn({ dir: this.dir, err: (err as Error).message }, 'cannot delete transit day files past report.retention');
    }
  }
}

/** The records grouped by the UTC day of their time, in the order given. */
function byDay(records: TransitRecord[]): Map<string, TransitRecord[]> {
  const days = new Map<string, TransitRecord[]>();
  for (const record of records) {
    const day = utcDay(new Date(record.at));
    const list = days.get(day) ?? [];
    list.push(record);
    days.set(day, list);
  }
  return days;
}
