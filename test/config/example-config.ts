// The reference's examples, one after another: a config file that sets every key of the
// key table, written next to the files it names, for tests that need every key at once.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Test } from 'tap';
import { parse } from 'yaml';
import { CONFIG_KEYS } from '../../src/config/keys.js';
import { file } from '../../src/config/key-types.js';
import type { Keys } from '../../src/config/key-spec.js';

export const EVERY_KEY_YAML = Object.values(CONFIG_KEYS)
  .map((node) => node.example)
  .join('\n');

/**
 * The same file with one section written its other way (tls.certificates instead of
 * tls.cert and tls.key), once for each section that has one: with EVERY_KEY_YAML, these
 * set every key of the table between them.
 */
export const ALTERNATIVE_YAMLS = Object.entries(CONFIG_KEYS).flatMap(([name, node]) =>
  node.node === 'section' && node.alternative
    ? [Object.entries(CONFIG_KEYS).map(([other, { example }]) => (other === name ? node.alternative!.example : example)).join('\n')]
    : [],
);

export const EXAMPLE_YAMLS = [EVERY_KEY_YAML, ...ALTERNATIVE_YAMLS];

/** The values of `file` keys in parsed YAML: the files that must exist for it to load. */
function filesNamed(keys: Keys, data: unknown): string[] {
  if (data === null || typeof data !== 'object') return [];
  return Object.entries(keys).flatMap(([name, node]) => {
    const value = (data as Record<string, unknown>)[name];
    if (node.node === 'section') return filesNamed(node.keys, value);
    if (node.node === 'list') return Array.isArray(value) ? value.flatMap((item) => filesNamed(node.item, item)) : [];
    const isFile = node.type === file || ('item' in node.type && node.type.item === file);
    return isFile && value !== null && value !== undefined ? [value].flat().map(String) : [];
  });
}

/** Writes `yaml` as DIR/config/tlsrelay.yaml, and a placeholder for each file it names; returns the config path. */
export function writeWithFiles(t: Test, yaml: string): string {
  const config = join(t.testdir({}), 'config', 'tlsrelay.yaml');
  mkdirSync(dirname(config), { recursive: true });
  writeFileSync(config, `${yaml}\n`);
  for (const named of filesNamed(CONFIG_KEYS, parse(yaml))) {
    const path = resolve(dirname(config), named);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'placeholder: the loader only checks that it can be read\n');
  }
  return config;
}
