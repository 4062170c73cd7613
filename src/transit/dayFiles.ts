import { join } from 'node:path';

// Where the transit record lies: `<queue.dir>/transit/`, one append-only file of JSON
// lines per UTC day and writing process, `YYYY-MM-DD.INSTANCE.jsonl`. A process writes
// only its own files, so several relays on one spool need no locking; each start is a new
// instance, so a line a crash tore is never continued by the next process. Old records go
// by deleting whole day files: nothing is ever rewritten.

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD.INSTANCE.jsonl`; INSTANCE is letters, digits and dashes. */
const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.([A-Za-z0-9-]+)\.jsonl$/;

export function transitDir(queueDir: string): string {
  return join(queueDir, 'transit');
}

/** The UTC day of a time, `2026-12-02`: the day file its records go to. */
export function utcDay(time: Date): string {
  return time.toISOString().slice(0, 10);
}

export function dayFileName(day: string, instance: string): string {
  return `${day}.${instance}.jsonl`;
}

/** The day a file of the transit folder holds; undefined for any other name (a stray file is left alone). */
export function dayOfFile(name: string): string | undefined {
  const match = DAY_FILE.exec(name);
  if (!match) return undefined;
  const day = match[1]!;
  return Number.isNaN(Date.parse(`${day}T00:00:00Z`)) ? undefined : day;
}

/** Epoch ms at which the day ends: its records are all older than that. */
function endOfDay(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) + DAY_MS;
}

/** The day files whose every record is older than the retention: the whole file goes. */
export function expiredFiles(names: string[], now: number, retentionMs: number): string[] {
  return names.filter((name) => {
    const day = dayOfFile(name);
    return day !== undefined && endOfDay(day) <= now - retentionMs;
  });
}

/** The day files that may hold records from `since` on. */
export function filesSince(names: string[], since: number): string[] {
  return names.filter((name) => {
    const day = dayOfFile(name);
    return day !== undefined && endOfDay(day) > since;
  });
}
