import { existsSync } from 'node:fs';
import { formatWarning } from '../config/errors.js';
import type { Config } from '../config/types.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';
import { expiryWarning, tryLoadTls } from './loadOrExplain.js';

/** Certificate files that will be generated at start are not there to be checked yet. */
function certificatesToBeGenerated(config: Config): boolean {
  const { cert, key, generateIfMissing } = config.tls;
  return generateIfMissing && (cert === undefined || !existsSync(cert)) && (key === undefined || !existsSync(key));
}

/** `tlsrelay check-config`: the same checks `start` makes before it listens, and nothing else. */
export async function checkConfigCommand(configOption: string | undefined, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  const loaded = await loadConfigOrReport(configOption, stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { file, config } = loaded;
  for (const warning of config.warnings) stderr.write(`${formatWarning(warning)}\n`);
  if (!certificatesToBeGenerated(config)) {
    const tls = tryLoadTls(file, config);
    if (!tls.ok) {
      stderr.write(`${tls.problem}\n`);
      return EXIT_INVALID_CONFIG;
    }
    for (const expiring of tls.expiring) stderr.write(`${expiryWarning(file, expiring)}\n`);
  }
  stdout.write(`${file}: configuration is valid\n`);
  return 0;
}
