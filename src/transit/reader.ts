import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { filesSince, transitDir } from './dayFiles.js';
import { decodeRecord, type TransitRecord } from './record.js';

// Reading the transit record: only files, never the relay, so it works whether a relay
// runs or not. A relay appends whole lines, so a reader sees complete lines and at most
// one torn one at the end of a file a crash interrupted: that one is skipped and counted.

export interface TransitQuery {
  /** Epoch ms: records from then on. */
  since: number;
  /** Only this recipient domain (normalised), when given. */
  domain?: string;
}

export interface TransitScan {
  files: number;
  /** Lines that are not a record (torn by a crash, or of an unknown format). */
  skipped: number;
}

/** Calls `visit` with every record the query asks for, file by file. */
export async function scanTransit(queueDir: string, query: TransitQuery, visit: (record: TransitRecord) => void): Promise<TransitScan> {
  const dir = transitDir(queueDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    // no relay has recorded a session on this spool yet
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: 0, skipped: 0 };
    throw err;
  }
  const files = filesSince(names, query.since).sort();
  const since = new Date(query.since).toISOString();
  // records are JSON.stringify's: a line of another domain is told without parsing it
  const domainField = query.domain === undefined ? undefined : `"domain":${JSON.stringify(query.domain)}`;
  let skipped = 0;
  for (const name of files) {
    let text: string;
    try {
      // read whole, then decoded at once: faster than readFile's chunked utf8 decoding of a large file
      text = (await readFile(join(dir, name))).toString('utf8');
    } catch (err) {
      // deleted by a relay's retention between the listing and now
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const line of text.split('\n')) {
      if (line === '' || (domainField !== undefined && !line.includes(domainField))) continue;
      const record = decodeRecord(line);
      if (record === undefined) {
        skipped += 1;
        continue;
      }
      // ISO times of one format compare as strings
      if (record.at < since || (query.domain !== undefined && record.domain !== query.domain)) continue;
      visit(record);
    }
  }
  return { files: files.length, skipped };
}
