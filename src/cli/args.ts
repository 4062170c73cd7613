import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Streams a command writes to; tests pass their own. */
export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A command's exit status: 0 ok, 2 invalid config, 64 usage error (sysexits EX_USAGE). */
export type Command = (args: string[], io: CommandIo) => Promise<number> | number;

export const EXIT_USAGE = 64;

export class UsageError extends Error {}

/** `-h` / `--help` among a command's arguments: its usage is the answer, and nothing runs. */
export class HelpRequested extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses one command's arguments; every command takes `-c FILE` and `--help`. Throws
 * UsageError with node's own message for an unknown option or a missing value, and
 * HelpRequested for `--help`. `configOption` is `-c` as given, undefined without it: the
 * commands that read a config look further (configLocation.ts), the others need none.
 */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, ...options },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as Record<string, unknown>;
  if (values.help === true) throw new HelpRequested();
  return { ...parsed, configOption: typeof values.config === 'string' ? values.config : undefined };
}
