import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// A real full disk: a 1 MB tmpfs mounted in a private mount namespace (root only; the
// fault cannot be had otherwise without mocks, since root ignores file permissions).
const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

const src = (file: string) => fileURLToPath(new URL(`../../src/${file}`, import.meta.url));

// Runs inside the namespace (plain JavaScript): fills the spool, reports what store() did and what is left.
const child = `
import { readdir, statfs } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createLogger } from ${JSON.stringify(src('log.js'))};
import { Spool } from ${JSON.stringify(src('queue/spool.js'))};

const dir = process.argv[2];
const message = { from: 'alice@a.test', recipients: [{ address: 'bob@b.test', domain: 'b.test' }] };
const spool = await Spool.open(dir, createLogger('silent'));
const kept = await spool.store(message, Readable.from([Buffer.alloc(100_000, 'k')]));

async function attempt(bytes) {
  try {
    await spool.store(message, Readable.from((function* () {
      for (let sent = 0; sent < bytes; sent += 4096) yield Buffer.alloc(Math.min(4096, bytes - sent), 'x');
    })()));
    return 'stored';
  } catch (err) {
    return err.code;
  }
}
const files = async () => Object.fromEntries(await Promise.all(['tmp', 'data', 'env'].map(async (d) => [d, (await readdir(dir + '/' + d)).sort()])));

const dataTooBig = await attempt(4 * 1024 * 1024);
const afterData = await files();
const { bavail, bsize } = await statfs(dir);
// The data fits exactly: the envelope is what finds the disk full.
const envelopeTooBig = await attempt(bavail * bsize);
const afterEnvelope = await files();
const listed = (await spool.list()).map((e) => e.id);
process.stdout.write(JSON.stringify({ kept: kept.id, dataTooBig, afterData, envelopeTooBig, afterEnvelope, listed }));
`;

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The child is plain JavaScript; only the sources it imports go through the loader.
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('a full disk fails store() cleanly, in the data and in the envelope', { skip: canMount ? false : 'needs root and unshare -m' }, async (t) => {
  const dir = t.testdir();
  const mountPoint = join(dir, 'spool');
  await mkdir(mountPoint);
  const script = join(dir, 'child.mjs');
  await writeFile(script, child);
  const loader = import.meta.resolve('@tapjs/typescript/import');
  const { code, stdout, stderr } = await run('unshare', [
    '-m',
    'sh',
    '-c',
    'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" --import="$3" "$4" "$1"',
    'sh',
    mountPoint,
    process.execPath,
    loader,
    script,
  ]);
  t.equal(code, 0, stderr);
  const report = JSON.parse(stdout) as {
    kept: string;
    dataTooBig: string;
    afterData: Record<string, string[]>;
    envelopeTooBig: string;
    afterEnvelope: Record<string, string[]>;
    listed: string[];
  };
  const only = { tmp: [], data: [report.kept], env: [`${report.kept}.json`] };
  t.equal(report.dataTooBig, 'ENOSPC', 'the data does not fit');
  t.same(report.afterData, only, 'nothing of it is left');
  t.equal(report.envelopeTooBig, 'ENOSPC', 'the data fits, the envelope does not');
  t.same(report.afterEnvelope, only, 'the data file already in place is removed again');
  t.same(report.listed, [report.kept], 'the earlier message is untouched');
});
