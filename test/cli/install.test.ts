// The `tlsrelay` command as README installs it: `npx tlsrelay` in the checkout, `npm link`
// (a link on PATH to the checkout), and `npm pack` + `npm install -g` of the tarball (a
// copy with its own dependencies, as the systemd unit runs it). Global installs go to a
// temp prefix. Every npm run here passes --ignore-scripts: its "prepare" would rebuild the
// dist/ that pretest built and that other tests are running at the same moment.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeBlock } from '../helpers/docText.js';
import { PROJECT_ROOT } from '../helpers/relayProcess.js';
import { runTool } from '../helpers/tools.js';

const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };

/** npm with its messages on (the checkout's .npmrc silences them) so that a failure says why. */
function npm(args: string[], cwd: string, env: Record<string, string> = {}) {
  return runTool('npm', ['--loglevel=warn', '--ignore-scripts', '--no-audit', '--no-fund', ...args], { cwd, env: { ...process.env, ...env } });
}

t.test('npx tlsrelay runs the checkout’s own command, with a fresh npm cache and no network', async (t) => {
  const cache = t.testdir();
  // npx's own options by environment: on its command line they would go to tlsrelay
  const env = { ...process.env, npm_config_cache: cache, npm_config_offline: 'true', npm_config_ignore_scripts: 'true', npm_config_loglevel: 'warn' };
  const run = await runTool('npx', ['tlsrelay', '--version'], { cwd: PROJECT_ROOT, env });
  t.equal(run.code, 0, run.output);
  t.equal(run.output, `tlsrelay ${version}\n`);
});

t.test('npm link puts tlsrelay on PATH as a link to the checkout', async (t) => {
  const prefix = t.testdir();
  // npm_config_prefix is the global prefix (--prefix would name the project instead)
  const link = await npm(['link', '--offline'], PROJECT_ROOT, { npm_config_prefix: prefix });
  t.equal(link.code, 0, link.output);
  const run = await runTool('tlsrelay', ['--version'], { env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` } });
  t.strictSame(run, { code: 0, output: `tlsrelay ${version}\n` }, 'found on PATH, run through its shebang');
});

t.test('npm pack, then npm install -g of the tarball: a copy that runs on its own', async (t) => {
  const dir = t.testdir({ packs: {}, prefix: {} });
  const pack = await npm(['pack', '--pack-destination', join(dir, 'packs')], PROJECT_ROOT);
  t.equal(pack.code, 0, pack.output);
  const tarball = join(dir, 'packs', `tlsrelay-${version}.tgz`);
  const install = await npm(['install', '-g', '--prefer-offline', tarball], dir, { npm_config_prefix: join(dir, 'prefix') });
  t.equal(install.code, 0, install.output);

  const bin = join(dir, 'prefix', 'bin', 'tlsrelay');
  t.strictSame(await runTool(bin, ['--version']), { code: 0, output: `tlsrelay ${version}\n` });
  // the production dependencies came with it: config schema needs the config modules and yaml
  const schema = await runTool(bin, ['config', 'schema']);
  t.equal(schema.code, 0, schema.output);
  t.equal(schema.output, readFileSync(join(PROJECT_ROOT, 'config', 'tlsrelay.schema.json'), 'utf8'));
  // README's install lines name this tarball and copy the unit from `npm root -g`, the lib/node_modules here
  const readme = readmeBlock('## Running under systemd', 'sh');
  t.match(readme, `npm install -g ./tlsrelay-${version}.tgz`, "README's tarball is this version's");
  t.match(readme, 'cp "$(npm root -g)/tlsrelay/contrib/tlsrelay.service" /etc/systemd/system/');
  const installed = join(dir, 'prefix', 'lib', 'node_modules', 'tlsrelay');
  for (const file of ['contrib/tlsrelay.service', 'config/tlsrelay.yaml', 'docs/configuration.md', 'README.md']) {
    t.equal(readFileSync(join(installed, file), 'utf8'), readFileSync(join(PROJECT_ROOT, file), 'utf8'), `${file} ships in the package`);
  }
});
