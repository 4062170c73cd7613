import { formatWarning } from '../config/errors.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';
import { datedNow } from '../tls/material.js';
import { warningDue } from '../tls/expirySchedule.js';
import { expiryWarningLine } from './expiryNotice.js';
import { certificatesToBeGenerated, tryLoadTls } from './loadOrExplain.js';

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
    // what a relay started now would warn about first
    const now = new Date();
    for (const dated of datedNow(config, tls.material.certificates, tls.trustDated)) {
      if (warningDue(dated.end, now, undefined)) stderr.write(`${expiryWarningLine(dated, now, file)}\n`);
    }
  }
  stdout.write(`${file}: configuration is valid\n`);
  return 0;
}
