import { WhatIfTally } from '../transit/whatIf.js';
import { compareConfigs, globalAsRecorded } from '../transit/whatIfCompare.js';
import { parseCommandArgs, UsageError, type CommandIo } from './args.js';
import { loadConfigOrReport, tryLoadConfig } from './loadConfigFile.js';
import { parseDomainOption, parseSince, readRecordOrReport } from './recordQuery.js';
import { whatIfText } from './whatIfText.js';

export const WHAT_IF_OPTIONS = {
  current: { type: 'string' },
  since: { type: 'string', default: '7d' },
  domain: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Nothing the current config delivered would be deferred. */
export const EXIT_NOTHING_DEFERRED = 0;
/** Some message the recorded sessions delivered would have been deferred under the new config. */
export const EXIT_WOULD_DEFER = 1;
/** A config does not load, or the transit record cannot be read. */
export const EXIT_WHAT_IF_ERROR = 2;

interface WhatIfRequest {
  next: string;
  sinceMs: number;
  domain: string | undefined;
}

function parseRequest(positionals: string[], values: { since?: string; domain?: string }, configOption: string | undefined): WhatIfRequest {
  const [, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (configOption === undefined) throw new UsageError('what-if needs -c NEW.yaml: the config to replay the recorded sessions under');
  return { next: configOption, sinceMs: parseSince(values.since ?? WHAT_IF_OPTIONS.since.default), domain: parseDomainOption(values.domain) };
}

/**
 * `tlsrelay policy what-if -c NEW.yaml [--current FILE] [--since 7d] [--domain D] [--json]`:
 * the sessions the transit record of the current config's spool holds, replayed under
 * NEW's connectors — for each domain whose connector changes, what would still be
 * delivered, what deferred and why, what cannot be told. The current config is `--current`,
 * else the file every command reads (TLSRELAY_CONFIG, ./config/tlsrelay.yaml, /etc/…).
 */
export async function whatIfCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals, values, configOption } = parseCommandArgs(args, WHAT_IF_OPTIONS);
  const request = parseRequest(positionals, values, configOption);
  const next = await tryLoadConfig(request.next);
  if (!next.ok) {
    io.stderr.write(`${next.problems.join('\n')}\n`);
    return EXIT_WHAT_IF_ERROR;
  }
  const current = await loadConfigOrReport(values.current, io.stderr);
  if (!current) return EXIT_WHAT_IF_ERROR;
  const until = new Date();
  const since = new Date(until.getTime() - request.sinceMs);
  const tally = new WhatIfTally(compareConfigs(current.config, next.config));
  const read = await readRecordOrReport('policy what-if', current.config.queue.dir, { since: since.getTime(), domain: request.domain }, (record) => tally.add(record), io.stderr);
  if (!read) return EXIT_WHAT_IF_ERROR;
  const report = tally.report(since, until);
  const asRecorded = globalAsRecorded(current.config, next.config);
  if (values.json) io.stdout.write(`${JSON.stringify({ next: request.next, current: current.file, ...report, asRecorded }, null, 2)}\n`);
  else io.stdout.write(whatIfText(report, { next: request.next, current: current.file, sinceMs: request.sinceMs, asRecorded }));
  return report.total.defers.messages > 0 ? EXIT_WOULD_DEFER : EXIT_NOTHING_DEFERRED;
}
