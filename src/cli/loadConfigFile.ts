import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/types.js';
import { CONFIG_ENV, locateConfig } from './configLocation.js';
import { systemHostname } from './systemHostname.js';

// Loading the config file for a command, apart from its certificates (loadOrExplain.ts):
// commands that only read the config and the spool load no TLS code.

/** Exit status for an invalid config, for `start` and `check-config` alike. */
export const EXIT_INVALID_CONFIG = 2;

export type ConfigLoad = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Loads the config, or says every problem as `FILE:LINE:COL: message`. */
export async function tryLoadConfig(file: string): Promise<ConfigLoad> {
  const hostname = await systemHostname();
  try {
    return { ok: true, config: loadConfig(file, hostname) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.message.split('\n') };
    return { ok: false, problems: [`${file}: ${(err as Error).message}`] };
  }
}

/**
 * The file a command reads — `-c` as given (`option`), else the lookup order of
 * configLocation.ts — or undefined once stderr says that there is none.
 */
function locateConfigOrReport(option: string | undefined, stderr: NodeJS.WritableStream): string | undefined {
  const location = locateConfig(option, process.env[CONFIG_ENV], existsSync);
  if (location.found) return location.file;
  stderr.write(`${location.problem}\n`);
  return undefined;
}

/**
 * Finds and loads the config or prints every problem on stderr.
 * Returns undefined when the config is unusable.
 */
export async function loadConfigOrReport(option: string | undefined, stderr: NodeJS.WritableStream): Promise<{ file: string; config: Config } | undefined> {
  const file = locateConfigOrReport(option, stderr);
  if (file === undefined) return undefined;
  const loaded = await tryLoadConfig(file);
  if (loaded.ok) return { file, config: loaded.config };
  stderr.write(`${loaded.problems.join('\n')}\n`);
  return undefined;
}
