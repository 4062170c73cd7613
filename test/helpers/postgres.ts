// A private PostgreSQL cluster on loopback for the shared queue's tests: Debian's server
// binaries run by hand (initdb, pg_ctl) in a temp dir, never the system service. Tests run
// as root here and PostgreSQL refuses to, so the cluster belongs to `nobody` then.
//
//   const pg = await startPostgres();
//   … queue.postgres.url: pg.url …
//   await pg.restart();   // the database goes away and comes back
//   await pg.stop();
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { runTool, toolAvailable } from './tools.js';

/** Where Debian keeps the server binaries (not on PATH): the newest version's bin/. */
function serverBinDir(): string | undefined {
  if (toolAvailable('initdb') && toolAvailable('pg_ctl')) return undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function binary(name: string): string {
  const dir = serverBinDir();
  return dir === undefined ? name : join(dir, name);
}

/** Options for a tap test that needs a PostgreSQL server: skipped (or, under CI, failed) when it is not installed. */
export function needsPostgres(): { skip?: string } {
  if (spawnSync(binary('initdb'), ['--version'], { stdio: 'ignore' }).status === 0) return {};
  const reason = 'PostgreSQL server is not installed (apt-get install postgresql)';
  if (process.env.CI === 'true') throw new Error(`${reason}; CI must run this test`);
  return { skip: reason };
}

export interface PostgresCluster {
  /** postgres://… for the cluster's `tlsrelay` database. */
  url: string;
  port: number;
  /** Stops the server (fast shutdown: open sessions are ended) and starts it again on the same port. */
  restart(options?: { downForMs?: number }): Promise<void>;
  /** Stops the server, leaving the cluster; start() brings it back. */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** Runs SQL through psql in `database` (by default the `tlsrelay` one), as the cluster's superuser; the output without alignment. */
  sql(statement: string, database?: string): Promise<string>;
  /** postgres://… for another database of the cluster. */
  urlOf(database: string): string;
  /** Stops the server and removes the cluster. */
  stop(): Promise<void>;
}

const USER = 'tlsrelay';
const DATABASE = 'tlsrelay';

/** As `nobody` when root (PostgreSQL refuses to run as root), else as ourselves. */
async function asOwner(command: string, args: string[]): Promise<void> {
  const run = process.getuid?.() === 0 ? await runTool('runuser', ['-u', 'nobody', '--', command, ...args]) : await runTool(command, args);
  if (run.code !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${run.output}`);
}

/**
 * A new cluster in a temp dir, serving on a free loopback port, with a `tlsrelay` database.
 * `durable`: fsync on, as a production server runs (the benchmarks); the tests kill relays
 * and restart the server, never the machine, so they go without.
 */
export async function startPostgres({ durable = false } = {}): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tlsrelay-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, 65534, 65534);
  const data = join(dir, 'data');
  const port = await freePort();
  await asOwner(binary('initdb'), ['-D', data, '-U', USER, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=${durable ? 'on' : 'off'} -c max_connections=200`;
  let running = false;
  const start = async (): Promise<void> => {
    await asOwner(binary('pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
    running = true;
  };
  const halt = async (): Promise<void> => {
    await asOwner(binary('pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    running = false;
  };
  const urlOf = (database: string): string => `postgres://${USER}@127.0.0.1:${port}/${database}`;
  const sql = async (statement: string, database = DATABASE): Promise<string> => {
    const run = await runTool('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', USER, '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', statement]);
    if (run.code !== 0) throw new Error(`psql failed: ${run.output}`);
    return run.output.trim();
  };
  await start();
  await sql(`CREATE DATABASE ${DATABASE}`, 'postgres');
  return {
    url: urlOf(DATABASE),
    urlOf,
    port,
    async restart({ downForMs = 0 } = {}) {
      await halt();
      await new Promise((resolve) => setTimeout(resolve, downForMs));
      await start();
    },
    halt,
    start,
    sql,
    async stop() {
      if (running) await halt().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
