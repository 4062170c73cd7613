// The key table, the loader and the reference page describe the same keys. The loader
// itself is asked: a file that sets every key of the table loads, and every value in the
// config it returns comes from a key the table and docs/configuration.md describe.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument, parse, type Node } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { SYSTEM_HOSTNAME } from '../helpers/config.js';
import { CONFIG_KEYS } from '../../src/config/keys.js';
import { keyPaths, type Keys } from '../../src/config/key-spec.js';
import { MapReader } from '../../src/config/reader.js';
import { Issues } from '../../src/config/issues.js';
import { text } from '../../src/config/values.js';
import { ALTERNATIVE_YAMLS, EXAMPLE_YAMLS, writeWithFiles } from './example-config.js';
import { PROJECT_ROOT } from '../helpers/relayProcess.js';

const TABLE_PATHS = keyPaths(CONFIG_KEYS).map(({ path }) => path).sort();

/** Values the loader adds that no file sets. */
const NOT_FROM_THE_FILE = new Set(['file', 'places', 'warnings', 'outbound[].implicit']);

/**
 * The paths (`outbound[].tls`) of the properties of a loaded config or of parsed YAML,
 * descending where the table has a mapping; a property the table lacks is listed as found.
 */
function pathsOf(data: unknown, keys: Keys = CONFIG_KEYS, prefix = ''): string[] {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return [];
  return Object.entries(data as Record<string, unknown>).flatMap(([name, value]) => {
    if (value === undefined || value === null) return [];
    const path = `${prefix}${name}`;
    const node = keys[name];
    if (node?.node === 'section') return [path, ...pathsOf(value, node.keys, `${path}.`)];
    if (node?.node === 'list' && Array.isArray(value)) return [path, ...value.flatMap((item) => pathsOf(item, node.item, `${path}[].`))];
    return [path];
  });
}

const unique = (paths: string[]) => [...new Set(paths)].sort();

/** The examples loaded: the file of every section's example, and those with a section written its other way. */
function loadedExamples(t: Test): Config[] {
  return EXAMPLE_YAMLS.map((yaml) => loadConfig(writeWithFiles(t, yaml), SYSTEM_HOSTNAME));
}

t.test('the examples of the reference set every key of the table, and only those', async (t) => {
  t.ok(ALTERNATIVE_YAMLS.length > 0, 'tls.certificates, which cannot stand beside tls.cert, has an example of its own');
  t.same(unique(EXAMPLE_YAMLS.flatMap((yaml) => pathsOf(parse(yaml)))), TABLE_PATHS);
});

t.test('the loader accepts each file the examples make, which set every key of the table between them', async (t) => {
  for (const yaml of EXAMPLE_YAMLS) t.doesNotThrow(() => loadConfig(writeWithFiles(t, yaml), SYSTEM_HOSTNAME));
});

t.test('every value of the loaded config is a key of the table, and every key of the table is a value', async (t) => {
  const loaded = unique(loadedExamples(t).flatMap((config) => pathsOf(config))).filter((path) => !NOT_FROM_THE_FILE.has(path));
  t.same(loaded.filter((path) => !TABLE_PATHS.includes(path)), [], 'the loader produces no key the table lacks');
  t.same(TABLE_PATHS.filter((path) => !loaded.includes(path)), [], 'the table has no key the loader does not produce');
});

/** The keys docs/configuration.md describes: the first column of its key tables. */
function referenceKeys(): string[] {
  const page = readFileSync(join(PROJECT_ROOT, 'docs', 'configuration.md'), 'utf8');
  return [...page.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1] ?? '');
}

t.test('docs/configuration.md describes each key the loader reads, once, and no other', async (t) => {
  const described = referenceKeys();
  t.same(described.filter((path, index) => described.indexOf(path) !== index), [], 'no key twice');
  // the top-level sections are the page's headings, not rows
  const sections = Object.entries(CONFIG_KEYS).filter(([, node]) => node.node === 'section').map(([name]) => name);
  const loaded = unique(loadedExamples(t).flatMap((config) => pathsOf(config))).filter((path) => !NOT_FROM_THE_FILE.has(path) && !sections.includes(path));
  t.same(unique(described), loaded);
});

t.test('a key read but missing from its key list is a bug the first load finds', async (t) => {
  const source = 'known: 1\n';
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter });
  const ctx = { issues: new Issues('x.yaml', lineCounter), doc, dir: '/' };
  const map = MapReader.open({ ctx, label: 'smtp' }, doc.contents as Node, ['known'], undefined);
  t.throws(() => map.read('maxHops', text), /smtp\.maxHops is read but is not in its key list \(src\/config\/keys\.ts\)/);
  t.throws(() => map.section('extra', []), /smtp\.extra is read but is not in its key list/);
  t.equal(map.read('known', (node) => (node as { value?: unknown }).value), 1, 'a listed key reads');
});

t.test('every key has a meaning, every value key a type name', async (t) => {
  const blank = keyPaths(CONFIG_KEYS as Keys).filter(({ node }) => node.meaning.trim() === '' || (node.node === 'value' && node.type.name === ''));
  t.same(blank.map(({ path }) => path), []);
});
