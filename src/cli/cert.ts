import { parseCommandArgs, UsageError, type CommandIo } from './args.js';
import { certCheck } from './certCheck.js';
import { parseNameArgument } from './nameArgument.js';
import { certInfoReport } from './certReport.js';
import { certInfoText } from './certText.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';
import { certificateFilesOf } from '../tls/certificateFiles.js';
import { readCertificate } from '../tls/material.js';
import { certificatesToBeGenerated, tlsProblemOf } from './loadOrExplain.js';

const OPTIONS = { json: { type: 'boolean' }, name: { type: 'string', multiple: true } } as const;

/**
 * `tlsrelay cert check FILE` (certCheck.ts), and `tlsrelay cert info`: the certificates the relay serves and presents, for a person to
 * send to partners or (`--json`) for a script. Exit 0; a config or certificate file that
 * cannot be read exits 2 with its FILE:LINE:COL, as check-config says it.
 */
export async function certCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals, values, configOption } = parseCommandArgs(args, OPTIONS);
  const [subcommand, ...extra] = positionals;
  if (subcommand !== 'info' && subcommand !== 'check') throw new UsageError(subcommand === undefined ? 'missing subcommand: info or check' : `unknown subcommand "${subcommand}"`);
  if (subcommand === 'check') {
    const [given, ...more] = extra;
    if (given === undefined) throw new UsageError('check needs the FILE of a certificate (PEM, the chain after it if any)');
    if (more.length > 0) throw new UsageError(`unexpected argument "${more[0]}"`);
    const names = (values.name ?? []).map((name) => parseNameArgument(name));
    const loaded = await loadConfigOrReport(configOption, io.stderr);
    if (!loaded) return EXIT_INVALID_CONFIG;
    return certCheck(loaded.config, loaded.file, given, names, values.json === true, io);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (values.name !== undefined) throw new UsageError('--name is for cert check');
  const loaded = await loadConfigOrReport(configOption, io.stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { file, config } = loaded;
  // a pair tls.generateIfMissing has yet to make is said, not read
  const pending = certificatesToBeGenerated(config) ? config.tls.cert : undefined;
  let document;
  try {
    // each pair as start reads it, without judging it: an expired one is shown
    const certificates = pending === undefined ? certificateFilesOf(config).map((files) => readCertificate(config, files)) : [];
    document = certInfoReport(config, certificates, new Date());
  } catch (err) {
    io.stderr.write(`${tlsProblemOf(err, file)}\n`);
    return EXIT_INVALID_CONFIG;
  }
  if (!values.json) {
    io.stdout.write(certInfoText(document, pending));
    return 0;
  }
  if (pending !== undefined) io.stderr.write(certInfoText(document, pending));
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return 0;
}
