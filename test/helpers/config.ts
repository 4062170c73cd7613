// Configs for tests, written as the YAML an administrator would write and loaded by the real loader.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

/** What the tests' configs take for the system's name when they leave server.hostname out: fully qualified, so no warning depends on the machine's. */
export const SYSTEM_HOSTNAME = 'relay.example.test';

/** Loads YAML through loadConfig from a fresh temp folder (relative paths resolve there). */
export function configFromYaml(yaml: string, dir = mkdtempSync(join(tmpdir(), 'tlsrelay-config-'))): Config {
  const file = join(dir, 'tlsrelay.yaml');
  writeFileSync(file, yaml);
  return loadConfig(file, SYSTEM_HOSTNAME);
}
