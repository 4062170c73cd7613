import { createRequire } from 'node:module';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** `log.format`: JSON lines for machines, or one readable line per event for a person. */
export type LogFormat = 'json' | 'pretty';

/**
 * The relay's logger: JSON lines on stdout (or the given stream), with the time in ISO 8601
 * UTC. Secrets are redacted by path in case a caller ever logs an object that carries one.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'tlsrelay' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.password', '*.pass', '*.key', '*.passwordHash', 'auth.*'], censor: '[redacted]' },
    },
    destination,
  );
}

/** With `log.format` left out, a person at a terminal reads pretty lines; a pipe, a file or a journal gets JSON. */
export function logFormatFor(configured: LogFormat | undefined, isTerminal: boolean): LogFormat {
  return configured ?? (isTerminal ? 'pretty' : 'json');
}

export interface LogOutputOptions {
  /** ANSI colours, for a terminal only. */
  colorize?: boolean;
  /** Where the lines go; stdout by default. */
  out?: DestinationStream;
}

/**
 * Where the relay's log lines go. Every logger writes JSON here, and the output passes it
 * on as it is or made readable by pino-pretty; a reload switches `format` in place, so the
 * loggers already handed out need not be replaced.
 *
 * Pretty lines are made in this thread and written through the same stdout stream as JSON,
 * which pino flushes synchronously when the process exits: pino-pretty as a transport would
 * run in a worker thread, whose last lines a process.exit() can cut off.
 */
export class LogOutput implements DestinationStream {
  private readonly out: DestinationStream;
  private readonly colorize: boolean;
  private prettify: ((line: string) => string) | undefined;

  constructor(
    public format: LogFormat,
    options: LogOutputOptions = {},
  ) {
    this.out = options.out ?? pino.destination({ dest: 1, sync: false });
    this.colorize = options.colorize ?? false;
  }

  write(line: string): void {
    if (this.format === 'json') {
      this.out.write(line);
      return;
    }
    this.prettify ??= prettifier(this.colorize);
    this.out.write(this.prettify(line));
  }
}

/**
 * pino-pretty, loaded on first use: JSON output and the CLI's other commands, which start
 * a process each time, do not pay for loading it.
 */
function prettifier(colorize: boolean): (line: string) => string {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  // One line per event, as a mail log is read: `err` (always a message here, never a stack)
  // stays on it too. The time as in the JSON (UTC), so one grep fits both.
  return prettyFactory({ colorize, singleLine: true, errorLikeObjectKeys: [], translateTime: false, ignore: 'name' });
}
