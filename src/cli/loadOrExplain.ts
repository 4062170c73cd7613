import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/types.js';

/** Exit status for an invalid config, for `start` and `check-config` alike. */
export const EXIT_INVALID_CONFIG = 2;

/**
 * Loads the config or prints every problem as `FILE:LINE:COL: message` on stderr.
 * Returns undefined when the config is unusable.
 */
export function loadConfigOrReport(file: string, stderr: NodeJS.WritableStream): Config | undefined {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) stderr.write(`${err.message}\n`);
    else stderr.write(`${file}: ${(err as Error).message}\n`);
    return undefined;
  }
}
