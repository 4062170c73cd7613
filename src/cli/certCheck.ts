import { resolve } from 'node:path';
import type { Config } from '../config/types.js';
import { loadTrust, readCertificateFile } from '../tls/material.js';
import { trustAnchorsOf } from '../tls/trustAnchors.js';
import type { CommandIo } from './args.js';
import { certCheckReport } from './certCheckReport.js';
import { certCheckText } from './certCheckText.js';
import { EXIT_INVALID_CONFIG } from './loadConfigFile.js';
import { tlsProblemOf } from './loadOrExplain.js';

/** Exit statuses: fine, or something asked fails; 2 (EXIT_INVALID_CONFIG) when the check cannot be made. */
const EXIT_FINE = 0;
const EXIT_FAILS = 1;

/**
 * `tlsrelay cert check FILE`: the file's first certificate judged against the anchors and
 * CRLs here, its dates and `names`, and what each outbound connector would make of it.
 * Exit 0 fine, 1 when something asked fails, 2 when the file or a tls.trust or tls.crl
 * file cannot be read.
 */
export function certCheck(config: Config, configFile: string, given: string, names: string[], json: boolean, io: Pick<CommandIo, 'stdout' | 'stderr'>): number {
  const file = resolve(given);
  let report;
  try {
    const certificates = readCertificateFile(file, 'the certificate file').map((block) => block.certificate);
    report = certCheckReport(config, file, certificates, names, trustAnchorsOf(config), loadTrust(config).crl, new Date());
  } catch (err) {
    io.stderr.write(`${tlsProblemOf(err, configFile)}\n`);
    return EXIT_INVALID_CONFIG;
  }
  io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : certCheckText(report));
  return report.failures.length === 0 ? EXIT_FINE : EXIT_FAILS;
}
