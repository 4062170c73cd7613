// `npm run bench:report`: how long `tlsrelay report tls` takes over a transit record of
// --records sessions (default 100,000) — the whole command as an operator runs it, node's
// start included, --runs times (default 7) — and the figures: each run, min, median, max.
// Besides the wall time it prints the CPU time the command used (user + system, from
// /proc on Linux): on a machine that other work keeps busy, that is what an idle one
// would take, while the wall time is what the operator waited here.
//
//   npm run bench:report -- --records 100000 --runs 7 --domains 300 [--json]
//
// The records are spread over the last 24 hours, in the day files of four relay
// instances, with a realistic mix of domains, TLS versions, verdicts, policies and
// failures, so `--since 24h` reads every one. A bench is not a test: it prints, and
// removes its scratch folder whatever way it ends.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { transitDir, utcDay } from '../../src/transit/dayFiles.js';
import type { TransitRecord } from '../../src/transit/record.js';
import { MAIN } from '../helpers/relayProcess.js';
import { sessionRecord, writeDayFile } from '../helpers/transitRecords.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '7' },
    domains: { type: 'string', default: '300' },
    json: { type: 'boolean', default: false },
  },
});
const total = Number(values.records);
const runs = Number(values.runs);
const domainCount = Number(values.domains);

const INSTANCES = ['1001-aaaaaa', '1002-bbbbbb', '1003-cccccc', '1004-dddddd'];

/** CPU ms used by this process's finished children so far (cutime + cstime of /proc/self/stat); undefined off Linux. */
function childrenCpuMs(): number | undefined {
  try {
    // the fields after the command name, which is in parentheses and may hold spaces
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // cutime and cstime are fields 16 and 17 of stat(5), in clock ticks (100 per second on Linux)
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

/** The n-th record: most sessions verified TLS 1.3, some TLS 1.2, opportunistic ones untrusted or plaintext, a few failures. */
function recordNumber(n: number, now: number): TransitRecord {
  const at = new Date(now - Math.floor((n / total) * 23.9 * 3_600_000)).toISOString();
  const domain = `d${n % domainCount}.example.test`;
  const kind = n % 20;
  if (kind < 12) return sessionRecord({ at, domain, messages: 1 + (n % 5), delivered: 1 + (n % 5) });
  if (kind < 15) return sessionRecord({ at, domain, tls: { protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES256-GCM-SHA384' }, verdict: 'trusted', policy: { source: 'connector', level: 'verify-ca' } });
  if (kind < 18) return sessionRecord({ at, domain, connector: 'default', verdict: 'untrusted', policy: { source: 'none' } });
  if (kind === 18) return sessionRecord({ at, domain, connector: 'default', tls: null, verdict: 'none', policy: { source: 'none' }, messages: 2, delivered: 2 });
  return sessionRecord({ at, domain, verdict: 'untrusted', failure: 'certificate-expired', outcome: 'deferred', reply: '450 4.7.5 Server certificate not verified for host mx.partner.test[192.0.2.25]: certificate has expired (CERT_HAS_EXPIRED)', delivered: 0 });
}

const dir = mkdtempSync(join(tmpdir(), 'tlsrelay-report-bench-'));
try {
  const spool = join(dir, 'spool');
  const now = Date.now();
  // one file per instance and UTC day, each in time order as a relay appends them
  const files = new Map<string, TransitRecord[]>();
  for (let n = total - 1; n >= 0; n--) {
    const record = recordNumber(n, now);
    const key = `${utcDay(new Date(record.at))} ${INSTANCES[n % INSTANCES.length]}`;
    const list = files.get(key) ?? [];
    list.push(record);
    files.set(key, list);
  }
  for (const [key, records] of files) writeDayFile(spool, key.split(' ')[1]!, records);
  const bytes = readdirSync(transitDir(spool)).reduce((sum, name) => sum + statSync(join(transitDir(spool), name)).size, 0);
  const config = join(dir, 'tlsrelay.yaml');
  writeFileSync(config, 'listeners: [{ name: smtp, port: 0, tls: none }]\nqueue: { dir: spool }\n');

  const args = [MAIN, 'report', 'tls', '--since', '24h', ...(values.json ? ['--json'] : []), '-c', config];
  const times: number[] = [];
  const cpu: number[] = [];
  let sessions = 0;
  for (let run = 0; run < runs; run++) {
    const cpuBefore = childrenCpuMs();
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    times.push(performance.now() - started);
    const cpuAfter = childrenCpuMs();
    if (cpuBefore !== undefined && cpuAfter !== undefined) cpu.push(cpuAfter - cpuBefore);
    if (result.status !== 0) throw new Error(`report tls exited ${result.status}: ${result.stderr}`);
    sessions = Number(/: (\d+) sessions,/.exec(result.stdout)?.[1] ?? (JSON.parse(result.stdout) as { total: { sessions: number } }).total?.sessions);
  }
  if (sessions !== total) throw new Error(`the report counted ${sessions} sessions of ${total}`);
  const ms = (value: number): string => `${Math.round(value)} ms`;
  const spread = (values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    return `min ${ms(sorted[0]!)}, median ${ms(sorted[Math.floor(sorted.length / 2)]!)}, max ${ms(sorted.at(-1)!)}`;
  };
  process.stdout.write(
    [
      `report tls${values.json ? ' --json' : ''} over ${total} records (${domainCount} domains, ${files.size} day files, ${(bytes / 1_048_576).toFixed(1)} MiB)`,
      `wall: ${spread(times)}  (${times.map(ms).join(', ')}; the whole command, node's start included)`,
      cpu.length > 0 ? `cpu:  ${spread(cpu)}  (user + system of the command)` : 'cpu:  not measured (no /proc)',
      '',
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
