// scripts/build-if-changed.js, the first half of `npm start`: it builds only when a source
// is newer than the last build or has no output yet, keeps stdout empty (the relay's JSON
// log follows there), and a failed build is tried again at the next start. Run on a small
// project of its own in a temp folder (this checkout's script, build command, tsconfig and
// node_modules), so that the checkout's dist/, which other tests run, is never rebuilt.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runNodeScript } from '../helpers/relayProcess.js';

const checkout = (path: string): string => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const { scripts } = JSON.parse(checkout('package.json')) as { scripts: { build: string } };

const buildIfChanged = (dir: string) => runNodeScript(join(dir, 'scripts', 'build-if-changed.js'), [], dir);

/** Writes a source file, as an editor does (its time is now, after the last build). */
function writeSource(dir: string, path: string, text: string): void {
  writeFileSync(join(dir, 'src', path), text);
}

/** A file copied in with an older time than the last build (cp -p, tar, rsync -t). */
function copyOldSource(dir: string, path: string, text: string): void {
  writeSource(dir, path, text);
  const before = statSync(join(dir, 'dist', 'main.js')).mtimeMs / 1000 - 1000;
  utimesSync(join(dir, 'src', path), before, before);
}

const runBuilt = (dir: string): string => spawnSync(join(dir, 'dist', 'main.js'), { encoding: 'utf8' }).stdout;

t.test('builds when dist/ is missing or older than a source, and otherwise does nothing', async (t) => {
  const dir = t.testdir({
    'package.json': JSON.stringify({ name: 'project', version: '1.0.0', type: 'module', scripts: { build: scripts.build } }),
    'tsconfig.json': checkout('tsconfig.json'),
    scripts: { 'build-if-changed.js': checkout('scripts/build-if-changed.js') },
    src: {
      'main.ts': "#!/usr/bin/env node\nimport { word } from './cli/word.js';\nconsole.log(word);\n",
      cli: { 'word.ts': "export const word: string = 'one';\n" },
    },
    node_modules: t.fixture('symlink', join(PROJECT_ROOT, 'node_modules')),
  });

  const first = await buildIfChanged(dir);
  t.equal(first.code, 0);
  t.equal(first.stdout, '', 'nothing on stdout, not even tsc or npm');
  t.match(first.stderr, /^tlsrelay: dist\/main\.js does not exist yet; building \(npm run build\)\n/);
  t.equal(runBuilt(dir), 'one\n', 'built, and executable as the bin is run');

  const builtAt = statSync(join(dir, 'dist', 'main.js')).mtimeMs;
  const again = await buildIfChanged(dir);
  t.strictSame(again, { code: 0, stdout: '', stderr: '' }, 'up to date: silent');
  t.equal(statSync(join(dir, 'dist', 'main.js')).mtimeMs, builtAt, 'and nothing was written');

  writeSource(dir, 'cli/word.ts', "export const word: string = 'two';\n");
  const changed = await buildIfChanged(dir);
  t.equal(changed.code, 0);
  t.match(changed.stderr, /^tlsrelay: src\/cli\/word\.ts changed since the last build; building/);
  t.equal(runBuilt(dir), 'two\n');

  // a file copied in with its old time is still built: it has no output yet
  copyOldSource(dir, 'cli/other.ts', "export const other = 'three';\n");
  const added = await buildIfChanged(dir);
  t.equal(added.code, 0);
  t.match(added.stderr, /^tlsrelay: src\/cli\/other\.ts has not been built yet; building/);
  t.equal(statSync(join(dir, 'dist', 'cli', 'other.js')).isFile(), true);
});

t.test('a failed build fails the start, its errors on stderr, and is tried again the next time', async (t) => {
  const dir = t.testdir({
    'package.json': JSON.stringify({ name: 'project', version: '1.0.0', type: 'module', scripts: { build: scripts.build } }),
    'tsconfig.json': checkout('tsconfig.json'),
    scripts: { 'build-if-changed.js': checkout('scripts/build-if-changed.js') },
    src: { 'main.ts': "const n: number = 1;\nconsole.log(n);\n" },
    node_modules: t.fixture('symlink', join(PROJECT_ROOT, 'node_modules')),
  });
  t.equal((await buildIfChanged(dir)).code, 0);

  writeSource(dir, 'main.ts', "const n: number = 'one';\nconsole.log(n);\n");
  for (const attempt of ['the first start after the change', 'the next start']) {
    const broken = await buildIfChanged(dir);
    t.not(broken.code, 0, `${attempt} fails`);
    t.equal(broken.stdout, '', `${attempt}: nothing on stdout`);
    t.match(broken.stderr, /src\/main\.ts\(1,7\): error TS2322/, `${attempt}: tsc's error on stderr`);
  }
});
