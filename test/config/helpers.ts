import { join } from 'node:path';
import type { Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { SYSTEM_HOSTNAME } from '../helpers/config.js';
import { ConfigError } from '../../src/config/errors.js';
import type { Config } from '../../src/config/types.js';

/** Our certificate as most cases need it, on line 1 of their YAML. Contents are not read here. */
export const TLS_LINE = 'tls: { cert: c.pem, key: k.pem }';

/** Writes the YAML (and any extra files) into a fresh folder and returns the config path. */
export function writeConfig(t: Test, lines: string[], files: Record<string, string> = {}): string {
  const dir = t.testdir({ 'c.pem': 'cert', 'k.pem': 'key', ...files, 'tlsrelay.yaml': lines.join('\n') + '\n' });
  return join(dir, 'tlsrelay.yaml');
}

export function load(t: Test, lines: string[], files: Record<string, string> = {}): Config {
  return loadConfig(writeConfig(t, lines, files), SYSTEM_HOSTNAME);
}

/** The issues as `LINE:COL` and message; an empty list when the config loads. */
export function issuesOf(t: Test, lines: string[], files: Record<string, string> = {}): Array<{ at: string; message: string }> {
  try {
    loadConfig(writeConfig(t, lines, files), SYSTEM_HOSTNAME);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((issue) => ({ at: `${issue.line}:${issue.col}`, message: issue.message }));
  }
}
