// The image itself, built and run here by README's own commands ("Container"): no container
// registry can be reached, so its base is made from Debian and the npm registry
// (scripts/make-container-base.sh), the Dockerfile is built on it with podman, and the image
// is checked as a user meets it: its config, its files, and containers started by README's
// `docker run` (podman run, the port mapped to a free loopback port) — named volumes, the
// HEALTHCHECK, a stop, and the spool outliving its container. Everything lives in a podman
// store of the test's own (test/helpers/podman.ts) and is removed at the end.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fencedBlocks, readmeSection, substitute, type Substitution } from '../helpers/docText.js';
import { freePort } from '../helpers/ports.js';
import { buildTrustOptions, privatePodman, RUN_OPTIONS } from '../helpers/podman.js';
import { PROJECT_ROOT, runCommand, startRelayCommand, type RelayProcess } from '../helpers/relayProcess.js';
import { submit, sampleMessage } from '../helpers/smtpClient.js';
import { needsTool } from '../helpers/tools.js';

// Minutes of downloads and building (README, "Container"): only when asked, as .ci/run does.
const INSTALL = 'as root, with apt-get install podman runc debootstrap';
const needs =
  process.env.TLSRELAY_IMAGE_TEST !== '1'
    ? { skip: `builds the image from Debian and npm for minutes: TLSRELAY_IMAGE_TEST=1 runs it (${INSTALL})` }
    : ([needsTool('podman', INSTALL), needsTool('runc', INSTALL), needsTool('debootstrap', INSTALL)].find((need) => need.skip) ?? {});
// what README's `podman build -t tlsrelay` names it (the private store has no other)
const IMAGE = 'localhost/tlsrelay:latest';
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

/** README's one command line in "Container" that begins with `start`, its comment left out, substituted, as words. */
function readmeCommand(start: string, substitutions: readonly Substitution[] = []): string[] {
  const lines = fencedBlocks(readmeSection('## Container'), 'sh').flatMap((block) => block.split('\n')).filter((line) => line.startsWith(start));
  if (lines.length !== 1) throw new Error(`README's Container section has ${lines.length} commands beginning with "${start}", the test expects one`);
  return substitute(lines[0]!.replace(/\s+#.*$/, ''), substitutions).split(/\s+/);
}

interface ImageInspect {
  ManifestType: string;
  Config: { User: string; Env: string[]; ExposedPorts: Record<string, object>; Entrypoint: string[]; Cmd: string[]; Volumes: Record<string, object>; WorkingDir: string };
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
}

if (needs.skip) t.test('the image, built and run with podman', needs, () => {});
else await imageTests();

async function imageTests(): Promise<void> {
  // a hang guard, not a timed assertion: a cold base and build take minutes on a loaded machine
  t.setTimeout(30 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'tlsrelay-image-'));
  const podman = privatePodman(dir);
  t.teardown(async () => {
    await podman.removeAll();
    rmSync(dir, { recursive: true, force: true });
  });
  const seconds = (since: number) => Math.round((Date.now() - since) / 1000);

  const store = await t.test('the private store is the one podman uses', async (t) => {
    const info = await podman.json<{ store: { graphRoot: string } }>(['info', '--format', 'json']);
    t.equal(info.store.graphRoot, join(dir, 'storage'));
  });
  if (!store?.ok) return; // never near the machine's own images

  const base = await t.test('scripts/make-container-base.sh: Debian bookworm with Node 20 and npm from the npm registry', async (t) => {
    const started = Date.now();
    const made = await runCommand(readmeCommand('scripts/make-container-base.sh'), PROJECT_ROOT, '', podman.env);
    t.comment(`base made in ${seconds(started)} s`);
    t.equal(made.code, 0, 'the script succeeds', { output: made.stderr });
    t.match(made.stdout, /^make-container-base: localhost\/tlsrelay-base:bookworm-node20 \(Debian bookworm, node v20\.\d+\.\d+, npm 10\.\d+\.\d+\)$/m);
  });

  if (!base?.ok) return;

  const build = await t.test("README's podman build on the base: both stages", async (t) => {
    const started = Date.now();
    const trust = await buildTrustOptions(dir);
    const built = await runCommand(readmeCommand('podman build', [['podman build', ['podman', 'build', ...trust].join(' ')]]), PROJECT_ROOT, '', podman.env);
    t.comment(`image built in ${seconds(started)} s`);
    t.equal(built.code, 0, 'the build succeeds', { output: `${built.stdout}\n${built.stderr}` });
    t.match(built.stdout, /^\[1\/2\] STEP 1\/\d+: FROM localhost\/tlsrelay-base:bookworm-node20 AS build$/m, 'the build stage on the base');
    t.match(built.stdout, /^\[2\/2\] STEP 1\/\d+: FROM localhost\/tlsrelay-base:bookworm-node20$/m, 'the runtime stage on the base');
  });
  if (!build?.ok) return;

  await t.test('the image config: non-root, the container config, the HEALTHCHECK, port 2525, the volumes', async (t) => {
    const [image] = await podman.json<ImageInspect[]>(['image', 'inspect', IMAGE]);
    t.equal(image!.ManifestType, 'application/vnd.docker.distribution.manifest.v2+json', 'Docker format, which keeps the HEALTHCHECK');
    t.match(image!.Config, {
      User: 'node',
      WorkingDir: '/app',
      Entrypoint: ['node', 'dist/main.js'],
      Cmd: ['start'],
      ExposedPorts: { '2525/tcp': {}, '25/tcp': {}, '465/tcp': {}, '587/tcp': {} },
      Volumes: { '/app/config': {}, '/app/certs': {}, '/app/var/spool': {} },
    });
    t.ok(image!.Config.Env.includes('TLSRELAY_CONFIG=/app/config/container.yaml'), 'every command reads the container config');
    t.ok(image!.Config.Env.includes('NODE_ENV=production'));
    t.same(image!.Healthcheck, { Test: ['CMD', 'node', 'dist/main.js', 'health'], Interval: 30e9, Timeout: 15e9, StartPeriod: 30e9, Retries: 3 });
  });

  await t.test("the image's files: the built relay, its config, production dependencies only, nothing of the build's", async (t) => {
    const mounted = await podman.run(['image', 'mount', IMAGE]);
    t.equal(mounted.code, 0, 'podman image mount', { output: mounted.stderr });
    const root = mounted.stdout.trim();
    t.teardown(() => podman.run(['image', 'unmount', IMAGE]));
    const app = join(root, 'app');

    t.same(readdirSync(app).sort(), ['certs', 'config', 'dist', 'node_modules', 'package-lock.json', 'package.json', 'var'], 'no sources, tests or local files in /app');
    t.ok(statSync(join(app, 'dist', 'main.js')).isFile());
    t.equal(readFileSync(join(app, 'config', 'container.yaml'), 'utf8'), readFileSync(join(PROJECT_ROOT, 'config', 'container.yaml'), 'utf8'));
    for (const volume of ['certs', join('var', 'spool')]) {
      t.same(readdirSync(join(app, volume)), [], `${volume} is empty: no certificate or spool of the build context`);
      t.match(statSync(join(app, volume)), { uid: 1000, gid: 1000 }, `${volume} belongs to node`);
    }
    t.match(readFileSync(join(root, 'etc', 'passwd'), 'utf8'), /^node:x:1000:1000:/m);
    t.same(readdirSync(join(root, 'usr', 'local', 'etc')), [], "the build's npm configuration stayed out of the image");

    // the lock file says which packages are the production install: each of those is there, no dev one is
    const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    const installed = (path: string) => {
      try {
        return statSync(join(app, path, 'package.json')).isFile();
      } catch {
        return false;
      }
    };
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    t.same(entries.filter(([path, entry]) => entry.dev && installed(path)).map(([path]) => path), [], 'no dev dependency');
    t.same(entries.filter(([path, entry]) => !entry.dev && !entry.optional && !installed(path)).map(([path]) => path), [], 'every production dependency');
    t.ok(Object.keys(pkg.dependencies).every((name) => installed(`node_modules/${name}`)), "package.json's dependencies");
  });

  await t.test('a one-off command in a container: --version', async (t) => {
    t.match(await podman.run(['run', '--rm', ...RUN_OPTIONS, IMAGE, '--version']), { code: 0, stdout: `tlsrelay ${pkg.version}\n` });
  });

  const volumes = ['--volume', 'tlsrelay-certs:/app/certs', '--volume', 'tlsrelay-spool:/app/var/spool'];
  /**
   * README's `docker run` as podman runs it: in the foreground, for its log lines, on a free
   * loopback port rather than 25; `mounts`: more volumes, before the image's name.
   */
  const startContainer = (port: number, mounts: string[] = []): RelayProcess =>
    startRelayCommand(
      readmeCommand('docker run', [
        ['docker run -d', ['podman', 'run', ...RUN_OPTIONS].join(' ')],
        ['-p 25:2525', `-p 127.0.0.1:${port}:2525`],
        ['-v tlsrelay-spool:/app/var/spool', ['-v', 'tlsrelay-spool:/app/var/spool', ...mounts].join(' ')],
      ]),
      dir,
      { env: podman.env },
    );
  /** `podman stop` (SIGTERM, as docker stop; the grace README's --stop-timeout gave the container): its exit, and the relay's. */
  const stopContainer = async (relay: RelayProcess) => ({ stop: (await podman.run(['stop', 'tlsrelay'])).code, relay: await relay.exited });
  const certificateIn = async (volume: string) => {
    const [info] = await podman.json<Array<{ Mountpoint: string }>>(['volume', 'inspect', volume]);
    return readFileSync(join(info!.Mountpoint, 'relay.crt'), 'utf8');
  };
  let firstCertificate = '';

  await t.test("README's docker run and docker exec: listens on 2525 behind the port mapping, STARTTLS, no open relay, healthy, stops on SIGTERM", async (t) => {
    const port = await freePort();
    const relay = startContainer(port);
    t.teardown(() => podman.run(['rm', '--force', '--time', '0', 'tlsrelay']));
    t.match(await relay.waitForLog((line) => line.msg === 'listening', 'the listener'), { address: '0.0.0.0', port: 2525, tls: 'starttls' });
    t.match(await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start'), { config: '/app/config/container.yaml', spool: '/app/var/spool' });
    t.ok(relay.logs.some((line) => line.cert === '/app/certs/relay.crt' && /generated a self-signed development certificate/.test(String(line.msg))), 'the development pair, made in the certs volume');

    // requireTLS: the transaction only starts after a successful STARTTLS
    const relayed = await submit({ port, tls: 'starttls', from: 'someone@client.test', to: ['someone@elsewhere.test'], data: sampleMessage() });
    t.match(relayed, { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'a client outside the container does not relay');

    const check = await runCommand(readmeCommand('docker exec', [['docker exec', 'podman exec']]), dir, '', podman.env);
    t.equal(check.code, 0, "README's docker exec … check-config", { output: check.stderr });
    t.match(check.stdout, /^\/app\/config\/container\.yaml: configuration is valid$/m, 'the config the container runs');
    t.match(`${check.stdout}${check.stderr}`, /^\/app\/config\/container\.yaml:\d+:\d+: warning: server\.hostname: left out/m, "the container's name has no domain");

    const health = await podman.run(['healthcheck', 'run', 'tlsrelay']);
    t.equal(health.code, 0, 'podman healthcheck run: healthy', { output: `${health.stdout}${health.stderr}` });
    const [state] = await podman.json<Array<{ State: { Health: { Status: string; Log: Array<{ ExitCode: number; Output: string }> } } }>>(['inspect', 'tlsrelay']);
    t.equal(state!.State.Health.Status, 'healthy');
    t.match(state!.State.Health.Log.at(-1), { ExitCode: 0, Output: /^tlsrelay health: ok: listener "smtp" on 127\.0\.0\.1:2525 greets: 220 / });

    t.same(await stopContainer(relay), { stop: 0, relay: 0 }, 'a clean exit');
    t.match(relay.logs.slice(-2), [{ msg: 'shutting down', signal: 'SIGTERM' }, { msg: 'tlsrelay stopped' }]);
    firstCertificate = await certificateIn('tlsrelay-certs');
    t.equal((await podman.run(['rm', 'tlsrelay'])).code, 0, 'the container is gone, its volumes stay');
  });

  await t.test('a config of your own mounted over the container config, on the same volumes: the certificate is kept, a message spooled outlives its container', async (t) => {
    const own = join(dir, 'relay.yaml');
    // mail for image.test is taken from anyone and goes to a next hop that is down: it stays
    // queued, its next attempt a day away
    writeFileSync(own, [
      'server: { hostname: relay.image.test }',
      'listeners: [{ name: smtp, address: 0.0.0.0, port: 2525, tls: starttls }]',
      'tls: { cert: ../certs/relay.crt, key: ../certs/relay.key, generateIfMissing: true }',
      'queue: { dir: ../var/spool, retry: [1d] }',
      'acceptedDomains: [image.test]',
      'outbound: [{ name: down, domains: [image.test], smartHosts: ["127.0.0.1:9"] }]',
      '',
    ].join('\n'));
    const port = await freePort();
    // README: "mount it over the image's"
    const relay = startContainer(port, ['-v', `${own}:/app/config/container.yaml:ro`]);
    t.teardown(() => podman.run(['rm', '--force', '--time', '0', 'tlsrelay']));
    await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start');
    t.notOk(relay.logs.some((line) => /generated a self-signed/.test(String(line.msg))), 'no new development pair');
    t.equal(await certificateIn('tlsrelay-certs'), firstCertificate, "the first container's certificate, from the volume");

    const accepted = await submit({ port, tls: 'starttls', from: 'someone@client.test', to: ['postmaster@image.test'], data: sampleMessage() });
    t.match(accepted, { ok: true, response: /^250 2\.0\.0 Ok: queued as \S+/ });
    const id = accepted.ok ? /queued as (\S+)/.exec(accepted.response)![1] : '';
    t.match(await relay.waitForLog((line) => line.queueId === id && line.outcome === 'deferred', 'the deferral'), { connector: 'down' });
    t.same(await stopContainer(relay), { stop: 0, relay: 0 });
    t.equal((await podman.run(['rm', 'tlsrelay'])).code, 0, 'the container is gone');

    // another container, the image's own config: the same spool volume
    const listed = await podman.run(['run', '--rm', ...RUN_OPTIONS, ...volumes, IMAGE, 'queue', 'list', '--json']);
    t.equal(listed.code, 0, 'queue list', { output: listed.stderr });
    t.match(JSON.parse(listed.stdout), { messages: [{ id, state: 'deferred', attempts: 1 }] });
  });
}
