// Transit records made in a test: day files as a relay writes them, dated where the test
// needs them (days past the retention, records before --since), for the reader, the
// retention and the benchmark. Records of real sessions come from real deliveries instead.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dayFileName, transitDir, utcDay } from '../../src/transit/dayFiles.js';
import { encodeRecord, RECORD_FORMAT, type TransitRecord } from '../../src/transit/record.js';

/** A delivered, verified TLS 1.3 session of one message; `fields` change what the test is about. */
export function sessionRecord(fields: Partial<TransitRecord> = {}): TransitRecord {
  return {
    v: RECORD_FORMAT,
    at: new Date().toISOString(),
    domain: 'partner.test',
    connector: 'partner',
    host: 'mx.partner.test',
    ip: '192.0.2.25',
    port: 25,
    reused: false,
    policy: { source: 'connector', level: 'verify' },
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    verdict: 'verified',
    failure: null,
    outcome: 'delivered',
    reply: '250 2.0.0 Ok: queued as 4F2A1',
    messages: 1,
    delivered: 1,
    ...fields,
  };
}

/**
 * Writes the records into the day file of their first record's UTC day, as the writing
 * instance `instance`; returns its path. `extra` is appended as it is (a torn line).
 */
export function writeDayFile(queueDir: string, instance: string, records: TransitRecord[], extra = ''): string {
  const dir = transitDir(queueDir);
  mkdirSync(dir, { recursive: true });
  const day = utcDay(new Date(records[0]?.at ?? Date.now()));
  const path = join(dir, dayFileName(day, instance));
  writeFileSync(path, records.map(encodeRecord).join('') + extra);
  return path;
}
