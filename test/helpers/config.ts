// Configs for tests, written as the YAML an administrator would write and loaded by the real loader.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

/** Loads YAML through loadConfig from a fresh temp folder (relative paths resolve there). */
export function configFromYaml(yaml: string, dir = mkdtempSync(join(tmpdir(), 'tlsrelay-config-'))): Config {
  const file = join(dir, 'tlsrelay.yaml');
  writeFileSync(file, yaml);
  return loadConfig(file);
}
