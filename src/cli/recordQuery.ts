import { parseHostName } from '../config/domain-name.js';
import { parseDuration } from '../config/duration.js';
import { UsageError } from './args.js';

// The two options of every command that reads the transit record (`report tls`,
// `policy what-if`): how far back, and which recipient domain.

/** `--since 7d` in ms; a usage error for anything but a duration longer than zero. */
export function parseSince(since: string): number {
  const ms = parseDuration(since);
  if (ms === undefined || ms === 0) throw new UsageError(`--since "${since}" is not a duration such as 30m, 24h or 7d`);
  return ms;
}

/** `--domain D` normalised, or undefined without it. */
export function parseDomainOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const domain = parseHostName(text);
  if (domain === undefined) throw new UsageError(`--domain "${text}" is not a domain name`);
  return domain;
}
