import { TransitTally } from '../transit/summary.js';
import { parseCommandArgs, UsageError, type CommandIo } from './args.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';
import { parseDomainOption, parseSince, readRecordOrReport } from './recordQuery.js';
import { reportText } from './reportText.js';

const OPTIONS = {
  since: { type: 'string', default: '24h' },
  domain: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The transit folder could not be read. */
const EXIT_CANNOT_READ = 1;

interface ReportRequest {
  sinceMs: number;
  /** As given, for the heading. */
  period: string;
  domain: string | undefined;
}

function parseRequest(positionals: string[], values: { since?: string; domain?: string }): ReportRequest {
  const [subcommand, ...extra] = positionals;
  if (subcommand !== 'tls') throw new UsageError(subcommand === undefined ? 'missing report: tls' : `unknown report "${subcommand}"`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const since = values.since ?? OPTIONS.since.default;
  return { sinceMs: parseSince(since), period: `--since ${since}`, domain: parseDomainOption(values.domain) };
}

/**
 * `tlsrelay report tls [--since 24h] [--domain D] [--json]`: what the transit record says
 * of the delivery sessions of the period, per recipient domain. It reads the record's
 * files only, so it answers the same whether a relay runs on the spool or not; the last
 * second or so of a running relay's sessions may not be written yet (FLUSH_INTERVAL_MS).
 */
export async function reportCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals, values, configOption } = parseCommandArgs(args, OPTIONS);
  const request = parseRequest(positionals, values);
  const loaded = await loadConfigOrReport(configOption, io.stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { config } = loaded;
  const until = new Date();
  const since = new Date(until.getTime() - request.sinceMs);
  const tally = new TransitTally();
  const read = await readRecordOrReport('report tls', config.queue.dir, { since: since.getTime(), domain: request.domain }, (record) => tally.add(record), io.stderr);
  if (!read) return EXIT_CANNOT_READ;
  const report = tally.report(since, until);
  io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : reportText(report, request.period));
  return 0;
}
