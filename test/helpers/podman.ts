// podman for the image test, in a store of the test's own: images, containers and volumes
// live in a temp folder (CONTAINERS_STORAGE_CONF, CONTAINERS_CONF), never in the machine's
// store, so that every run builds from nothing and leaves nothing behind.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './relayProcess.js';

export interface Podman {
  /** The environment that points podman (and scripts that call it) at the private store. */
  env: NodeJS.ProcessEnv;
  /** Runs `podman ARGS` to completion. */
  run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Runs `podman ARGS` and parses its JSON answer; a non-zero exit throws. */
  json<T>(args: string[]): Promise<T>;
  /** Removes every container, volume and image of the store. */
  removeAll(): Promise<void>;
}

export function privatePodman(dir: string): Podman {
  const storageConf = join(dir, 'storage.conf');
  const containersConf = join(dir, 'containers.conf');
  writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n`);
  // podman's own state (alive, exit codes) beside the store, not shared with the machine's
  writeFileSync(containersConf, `[engine]\ntmp_dir = "${join(dir, 'libpod')}"\n`);
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_CONF: containersConf };
  const run = (args: string[]) => runCommand(['podman', ...args], tmpdir(), '', env);
  return {
    env,
    run,
    async json<T>(args: string[]) {
      const { code, stdout, stderr } = await run(args);
      if (code !== 0) throw new Error(`podman ${args.join(' ')}: exit ${code}: ${stderr}`);
      return JSON.parse(stdout) as T;
    },
    async removeAll() {
      await run(['rm', '--all', '--force', '--time', '0']);
      await run(['volume', 'rm', '--all', '--force']);
      await run(['image', 'unmount', '--all']);
      await run(['rmi', '--all', '--force']);
    },
  };
}

/**
 * `podman run` options: the image is the one just built, never pulled (podman would try
 * the registry "localhost" first). And what this sandbox needs, harmless elsewhere: crun
 * (Debian's default runtime) refuses its cgroup layout ("cgroups in hybrid mode not
 * supported"), runc does not; the runtimes' default limits are above what a process here
 * may set (setrlimit EPERM), so the container gets limits below them.
 */
export const RUN_OPTIONS = ['--pull=never', '--runtime', 'runc', '--ulimit', 'nofile=8192:8192', '--ulimit', 'nproc=4096:4096'];

/**
 * `podman build` options that let the build's npm trust what this machine's npm trusts:
 * where the registry is reached through a proxy with a CA of its own (npm's `cafile`), that
 * file and an npmrc naming it are mounted over the base's empty /usr/local/etc (npm's global
 * config folder) for the RUN steps only — no file of them stays in the image.
 */
export async function buildTrustOptions(dir: string): Promise<string[]> {
  const { stdout } = await runCommand(['npm', 'config', 'get', 'cafile'], tmpdir());
  const cafile = stdout.trim();
  if (cafile === '' || cafile === 'null' || cafile === 'undefined') return [];
  const etc = join(dir, 'npm-etc');
  mkdirSync(etc);
  copyFileSync(cafile, join(etc, 'build-ca.crt'));
  writeFileSync(join(etc, 'npmrc'), 'cafile=/usr/local/etc/build-ca.crt\n');
  return ['--volume', `${etc}:/usr/local/etc:ro`];
}
