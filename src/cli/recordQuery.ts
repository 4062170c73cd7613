import { parseHostName } from '../config/domain-name.js';
import { parseDuration } from '../config/duration.js';
import type { TransitRecord } from '../transit/record.js';
import { scanTransit } from '../transit/reader.js';
import { UsageError } from './args.js';

// What every command that reads the transit record (`report tls`, `policy what-if`) does
// alike: its two options — how far back, which recipient domain — and the reading, with
// what could not be read said on stderr.

/** `--since 7d` in ms; a usage error for anything but a duration longer than zero. */
export function parseSince(since: string): number {
  const ms = parseDuration(since);
  if (ms === undefined || ms === 0) throw new UsageError(`--since "${since}" is not a duration such as 30m, 24h or 7d`);
  return ms;
}

/** `--domain D` normalised, or undefined without it. */
export function parseDomainOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const domain = parseHostName(text);
  if (domain === undefined) throw new UsageError(`--domain "${text}" is not a domain name`);
  return domain;
}

/** What a command asks of the record: from `sinceMs` ago (epoch ms), of one domain or all. */
export interface RecordQuery {
  since: number;
  domain: string | undefined;
}

/**
 * Feeds `add` the records the query asks for; false, once stderr says why, when the
 * transit folder cannot be read. Lines that are no record are counted on stderr.
 */
export async function readRecordOrReport(command: string, queueDir: string, query: RecordQuery, add: (record: TransitRecord) => void, stderr: NodeJS.WritableStream): Promise<boolean> {
  let skipped: number;
  try {
    ({ skipped } = await scanTransit(queueDir, { since: query.since, ...(query.domain === undefined ? {} : { domain: query.domain }) }, add));
  } catch (err) {
    stderr.write(`tlsrelay ${command}: cannot read the transit record: ${(err as Error).message}\n`);
    return false;
  }
  if (skipped > 0) stderr.write(`tlsrelay ${command}: ${skipped} line${skipped === 1 ? '' : 's'} of the transit record skipped: torn by a crash, or of a format this version does not read\n`);
  return true;
}
