import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { commitFile, DIR_MODE, FILE_MODE, fsyncDirectory } from '../queue/durableFile.js';
import { transitDir } from '../transit/dayFiles.js';
import type { ReportPeriod } from './period.js';

// What became of each domain's report for each period, kept next to the transit record
// in `<queue.dir>/transit/tlsrpt/`, one small file per period and domain, so that a report
// goes once per period and domain, also across a restart in the middle of a period. The
// first relay to create the file sends the report; the file then says which destinations
// have it. Each write is durable (fsync'd, renamed or linked into place) before the next
// step, so a crash repeats at most the send that was under way.

/** Per destination URI: still to send (and retried), sent, or given up at the end of the retry window. */
export type DestinationState = 'pending' | 'sent' | 'given-up';

export interface SentMarker {
  domain: string;
  period: ReportPeriod;
  /** Per rua URI; empty when the domain asked for no report (why: `none`). */
  destinations: Record<string, DestinationState>;
  none?: string;
}

export const markersDir = (queueDir: string): string => join(transitDir(queueDir), 'tlsrpt');

/** `20261202T000000Z.example.test.json`: the period's start, then the (normalised, file-safe) domain. */
function markerName(period: ReportPeriod, domain: string): string {
  return `${new Date(period.start).toISOString().replace(/[-:]|\.\d{3}/g, '')}.${domain}.json`;
}

const MARKER_NAME = /^(\d{8}T\d{6}Z)\..+\.json$/;

function isMarker(value: unknown): value is SentMarker {
  const marker = value as SentMarker;
  return (
    typeof marker === 'object' &&
    marker !== null &&
    typeof marker.domain === 'string' &&
    typeof marker.period?.start === 'number' &&
    typeof marker.period?.end === 'number' &&
    typeof marker.destinations === 'object' &&
    marker.destinations !== null &&
    Object.values(marker.destinations).every((state) => state === 'pending' || state === 'sent' || state === 'given-up')
  );
}

export class SentMarkers {
  constructor(readonly dir: string) {}

  private path(period: ReportPeriod, domain: string): string {
    return join(this.dir, markerName(period, domain));
  }

  /** Unique among every writer of the folder, this process's others included. */
  private tmpPath(): string {
    return join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** The marker of a domain and period; undefined when none was made. A damaged one throws. */
  async read(period: ReportPeriod, domain: string): Promise<SentMarker | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(period, domain), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const value: unknown = JSON.parse(text);
    if (!isMarker(value)) throw new Error(`${this.path(period, domain)} is not a TLS-RPT marker`);
    return value;
  }

  /** Creates the marker unless one exists: true when this call made it, and so is to send the report. */
  async claim(marker: SentMarker): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    const tmp = this.tmpPath();
    const handle = await open(tmp, 'wx', FILE_MODE);
    try {
      await handle.writeFile(`${JSON.stringify(marker)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // a link never replaces a file: of two relays claiming at once, one gets EEXIST
      await link(tmp, this.path(marker.period, marker.domain));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    await fsyncDirectory(this.dir);
    return true;
  }

  /** Writes the marker's new states over the old. */
  async update(marker: SentMarker): Promise<void> {
    await commitFile(this.tmpPath(), this.path(marker.period, marker.domain), [`${JSON.stringify(marker)}\n`], () => fsyncDirectory(this.dir));
  }

  /** Deletes the markers of periods that began before `before` (epoch ms): no report for them is due any more. */
  async prune(before: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      const stamp = MARKER_NAME.exec(name)?.[1];
      if (stamp === undefined) continue;
      const start = Date.parse(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
      if (start < before) await rm(join(this.dir, name), { force: true });
    }
  }
}
