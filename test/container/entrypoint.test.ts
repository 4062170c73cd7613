// The image as far as it can be checked without building it: the Dockerfile runs the
// container config by the route the image takes (TLSRELAY_CONFIG, CMD start, HEALTHCHECK
// health), and that command line, run here in a folder laid out as the image's /app,
// listens on every address, writes its certificate into certs/ and is found healthy.
// (image.test.ts builds and runs the image itself with podman, when asked: README, "Container".)
import t from 'tap';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { MAIN, PROJECT_ROOT, runCli, startRelayCommand } from '../helpers/relayProcess.js';

const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
/** The runtime stage: what follows the last FROM. */
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

t.test('the Dockerfile: the container config by TLSRELAY_CONFIG, start, health as HEALTHCHECK, port 2525, non-root', async (t) => {
  t.match(runtime, /^ENV TLSRELAY_CONFIG=\/app\/config\/container\.yaml$/m);
  t.match(runtime, /^COPY config \.\/config$/m, 'config/container.yaml is in the image');
  t.match(runtime, /^ENTRYPOINT \["node", "dist\/main\.js"\]$/m);
  t.match(runtime, /^CMD \["start"\]$/m, 'no -c: every command in the container reads the same file');
  t.match(runtime, /^HEALTHCHECK [^\n]*CMD \["node", "dist\/main\.js", "health"\]$/m);
  t.match(runtime, /^EXPOSE 2525\b/m);
  t.match(runtime, /^USER node$/m);
  t.match(readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8'), /^docker run .*-p 25:2525 .* tlsrelay$/m, "README's docker run maps the port the container config listens on");
  t.match(runtime, /^VOLUME \["\/app\/config", "\/app\/certs", "\/app\/var\/spool"\]$/m);
  t.match(runtime, /^RUN mkdir -p \/app\/certs \/app\/var\/spool && chown -R node:node \/app\/certs \/app\/var$/m, 'the volumes belong to the node user');
});

t.test('the entrypoint with config/container.yaml, outside a container: listens on 0.0.0.0, certificate in certs/, healthy', async (t) => {
  // /app as the image has it: config/ beside certs/ and var/spool; only the port differs
  // from the shipped file, so that the test does not take this machine's 2525
  const app = t.testdir({ config: {}, certs: {}, var: { spool: {} } });
  const port = await freePort();
  const shipped = readFileSync(join(PROJECT_ROOT, 'config', 'container.yaml'), 'utf8');
  t.match(shipped, /^ {4}port: 2525 /m);
  writeFileSync(join(app, 'config', 'container.yaml'), shipped.replace(/^( {4}port: )2525 /m, `$1${port} `));
  cpSync(join(PROJECT_ROOT, 'config', 'tlsrelay.schema.json'), join(app, 'config', 'tlsrelay.schema.json'));
  const env = { ...process.env, TLSRELAY_CONFIG: join(app, 'config', 'container.yaml') };

  const relay = startRelayCommand([process.execPath, MAIN, 'start'], app, { env });
  t.teardown(() => relay.stop());
  t.match(await relay.waitForLog((line) => line.msg === 'listening', 'the listener'), { address: '0.0.0.0', port, tls: 'starttls' });
  t.match(await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start'), { spool: join(app, 'var', 'spool') });
  t.ok(existsSync(join(app, 'certs', 'relay.crt')) && existsSync(join(app, 'certs', 'relay.key')), 'the development pair in the certs volume');
  t.ok(relay.logs.every((line) => typeof line.time === 'string'), 'JSON lines on stdout');

  const health = await runCli(['health'], app, '', env);
  t.match(health, { code: 0, stdout: new RegExp(`^tlsrelay health: ok: listener "smtp" on 127\\.0\\.0\\.1:${port} greets: 220 `), stderr: '' }, 'the HEALTHCHECK command');
});
