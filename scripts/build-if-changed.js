// `npm start` runs this first: it builds dist/ only when a source changed since the last
// build — tsc takes seconds, the relay starts in half of one. Plain JavaScript, since it
// has to run before anything is compiled. Says nothing on stdout: that is the relay's
// JSON log. A forced build is `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const built = join(root, 'dist', 'main.js');

/** Every file under `dir`, with its path. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Why dist/ is out of date, or undefined when it is not: no build yet, an input newer than
 * the last build, or a source without its output (a new file whose time a copy kept).
 */
function staleReason() {
  if (!existsSync(built)) return 'dist/main.js does not exist yet';
  const builtAt = statSync(built).mtimeMs;
  const sources = filesUnder(join(root, 'src'));
  const newer = [...sources, join(root, 'tsconfig.json')].find((file) => statSync(file).mtimeMs > builtAt);
  if (newer) return `${relative(root, newer)} changed since the last build`;
  const outputOf = (source) => join(root, 'dist', relative(join(root, 'src'), source)).replace(/\.ts$/, '.js');
  const unbuilt = sources.find((source) => source.endsWith('.ts') && !existsSync(outputOf(source)));
  return unbuilt && `${relative(root, unbuilt)} has not been built yet`;
}

const reason = staleReason();
if (reason) {
  process.stderr.write(`tlsrelay: ${reason}; building (npm run build)\n`);
  // tsc writes its errors on stdout: they go to stderr with the rest of this script's words
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 'inherit'] });
  process.exitCode = build.status ?? 1;
  // tsc writes its output despite type errors: dated back, it counts as stale at the next
  // start, which tries again and shows the errors again rather than run what they are in
  if (build.status !== 0 && existsSync(built)) utimesSync(built, 0, 0);
}
