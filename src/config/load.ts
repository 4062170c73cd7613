import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './errors.js';
import { Issues } from './issues.js';
import { readConfig } from './read-config.js';
import type { Config } from './types.js';

function readSource(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 1, col: 1, message: `cannot read config file: ${(err as Error).message}` }]);
  }
}

/**
 * Reads, validates and completes a config file. Throws ConfigError listing every problem
 * with its file:line:col. `file` appears in messages exactly as given. `systemHostname`
 * becomes server.hostname when the file leaves it out: the commands pass the system's
 * fully qualified name (systemHostname.ts), which takes lookups to find; a parameter, so
 * that what a config means does not depend on the machine that reads it in a test.
 */
export function loadConfig(file: string, systemHostname: string): Config {
  const source = readSource(file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false });
  const issues = new Issues(file, lineCounter);
  for (const problem of [...doc.errors, ...doc.warnings]) issues.addAtOffset(problem.pos[0], `YAML: ${problem.message}`);
  // Validating a document YAML could not parse would mostly report the parse errors again.
  if (issues.count > 0) throw new ConfigError(issues.sorted());
  const absolute = resolve(file);
  const config = readConfig({ issues, doc, dir: dirname(absolute) }, absolute, systemHostname);
  if (!config || issues.count > 0) throw new ConfigError(issues.sorted());
  return { ...config, warnings: issues.warnings() };
}
