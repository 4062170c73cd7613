// A private validating resolver on loopback: Debian's unbound with its own config in a
// temp dir (never the system service), serving zones made by the test — signed at test
// time with ldns-keygen/ldns-signzone and trusted through a trust-anchor-file, or left
// unsigned. Nothing is asked of the Internet: the zones are auth-zones that the
// iterator reads as if from upstream, so the validator judges them like any answer.
//
//   const unbound = await startUnbound([{ name: 'signed.test', records: ['@ MX 10 mx'], signed: true }]);
//   … DNS to 127.0.0.1:unbound.port …
//   await unbound.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { needsTool, runTool } from './tools.js';

/** Options for a tap test that needs unbound and the ldns tools: skipped (or, under CI, failed) when missing. */
export function needsUnbound(): { skip?: string } {
  const unbound = needsTool('unbound', 'apt-get install unbound');
  if (unbound.skip) return unbound;
  return needsTool('ldns-signzone', 'apt-get install ldnsutils');
}

export interface TestZone {
  /** The zone's apex, e.g. `signed.test`. */
  name: string;
  /** Zone-file lines relative to the apex (`@ MX 10 mx`, `mx A 127.0.0.10`); SOA and NS are added. */
  records: string[];
  /** Signed with a key made now, whose DS becomes a trust anchor. */
  signed: boolean;
  /** Changes the signed zone file after signing, e.g. an address whose signature then fails. */
  tamper?: (signedZone: string) => string;
}

export interface UnboundInstance {
  port: number;
  /** What unbound logged so far (validation failures at val-log-level 2). */
  log(): string;
  stop(): Promise<void>;
}

/** The negative TTL of the zones made here (the SOA's TTL and MINIMUM). */
export const ZONE_NEGATIVE_TTL = 120;

function zoneText(zone: TestZone): string {
  return [
    `$ORIGIN ${zone.name}.`,
    '$TTL 300',
    `@ ${ZONE_NEGATIVE_TTL} IN SOA ns hostmaster 1 3600 600 86400 ${ZONE_NEGATIVE_TTL}`,
    '@ IN NS ns',
    'ns IN A 127.0.0.1',
    ...zone.records,
    '',
  ].join('\n');
}

async function ldns(dir: string, tool: string, args: string[]): Promise<string> {
  const run = await runTool(tool, args, { cwd: dir });
  if (run.code !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${run.output}`);
  return run.output.trim();
}

/** Writes the zone file unbound loads; for a signed zone also returns its DS record, the trust anchor. */
async function writeZone(dir: string, zone: TestZone): Promise<{ file: string; anchor?: string }> {
  const file = join(dir, `${zone.name}.zone`);
  writeFileSync(file, zoneText(zone));
  if (!zone.signed) return { file };
  // one key signs everything (a CSK): enough for a validator, and one file less
  const key = await ldns(dir, 'ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', zone.name]);
  await ldns(dir, 'ldns-signzone', ['-f', `${file}.signed`, file, key]);
  if (zone.tamper) writeFileSync(`${file}.signed`, zone.tamper(readFileSync(`${file}.signed`, 'utf8')));
  return { file: `${file}.signed`, anchor: readFileSync(join(dir, `${key}.ds`), 'utf8').trim() };
}

function config(dir: string, port: number, zones: ReadonlyArray<{ name: string; file: string }>): string {
  const server = [
    'server:',
    '  interface: 127.0.0.1',
    `  port: ${port}`,
    '  do-ip6: no',
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  val-log-level: 2',
    '  access-control: 127.0.0.0/8 allow',
    `  trust-anchor-file: "${join(dir, 'anchors.ds')}"`,
    // no RFC 8145 key-tag queries: they would go to the Internet
    '  trust-anchor-signaling: no',
    '  module-config: "validator iterator"',
    // unbound answers NXDOMAIN for test. (RFC 6761) unless told not to
    '  local-zone: "test." nodefault',
  ];
  const authZones = zones.flatMap((zone) => ['auth-zone:', `  name: "${zone.name}."`, `  zonefile: "${zone.file}"`, '  for-upstream: yes', '  for-downstream: no', '  fallback-enabled: no']);
  return [...server, ...authZones, ''].join('\n');
}

/** Resolves once unbound says it serves, or rejects with its output when it exits first. */
function started(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      if (/start of service/.test(output())) done(resolve);
    };
    const onExit = (code: number | null): void => done(() => reject(new Error(`unbound exited (${code}) before serving: ${output()}`)));
    const done = (settle: () => void): void => {
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

export async function startUnbound(zones: readonly TestZone[]): Promise<UnboundInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'tlsrelay-unbound-'));
  try {
    const written = await Promise.all(zones.map(async (zone) => ({ name: zone.name, ...(await writeZone(dir, zone)) })));
    writeFileSync(join(dir, 'anchors.ds'), written.flatMap((zone) => zone.anchor ?? []).join('\n') + '\n');
    const port = await freePort();
    const file = join(dir, 'unbound.conf');
    writeFileSync(file, config(dir, port, written));

    const child = spawn('unbound', ['-d', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // if the test process dies without its teardown, unbound must not outlive it
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    await started(child, () => output).catch((err: unknown) => {
      process.off('exit', kill);
      throw err;
    });
    return {
      port,
      log: () => output,
      async stop() {
        process.off('exit', kill);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
