import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/types.js';

// Loading the config file for a command, apart from its certificates (loadOrExplain.ts):
// commands that only read the config and the spool load no TLS code.

/** Exit status for an invalid config, for `start` and `check-config` alike. */
export const EXIT_INVALID_CONFIG = 2;

export type ConfigLoad = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Loads the config, or says every problem as `FILE:LINE:COL: message`. */
export function tryLoadConfig(file: string): ConfigLoad {
  try {
    return { ok: true, config: loadConfig(file) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.message.split('\n') };
    return { ok: false, problems: [`${file}: ${(err as Error).message}`] };
  }
}

/**
 * Loads the config or prints every problem on stderr.
 * Returns undefined when the config is unusable.
 */
export function loadConfigOrReport(file: string, stderr: NodeJS.WritableStream): Config | undefined {
  const loaded = tryLoadConfig(file);
  if (loaded.ok) return loaded.config;
  stderr.write(`${loaded.problems.join('\n')}\n`);
  return undefined;
}
