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

/** Where LogOutput writes: a flush() makes what it holds back go out now (a plain stream holds nothing back). */
export interface LogSink extends DestinationStream {
  flush?(): void;
}

/** A batch of JSON lines goes out in one write(2) once it holds this much. */
const BATCH_BYTES = 16 * 1024;
/** …or once its first line has waited this long: what a kill -9, which no handler sees, can lose. */
export const BATCH_MS = 50;
/** Lines at this level (pino's warn) and above are written at once, with whatever waits before them. */
const WRITE_AT_ONCE_LEVEL = 40;

/**
 * The relay's stdout: lines gathered into one write(2) per BATCH_BYTES or BATCH_MS, where a
 * write per line was one system call per line on the delivery path. sonic-boom (pino's
 * destination) does the gathering, with writes made in this thread: the asynchronous mode
 * would queue them in libuv's thread pool behind the spool's fsyncs, where a process.exit()
 * finds a batch neither written nor writable and the lines after it come out first. So
 * nothing is ever in flight, and at exit — process.exit(), the end of the event loop, an
 * uncaught exception or an unhandled rejection, all of which emit 'exit' — what is held back
 * is written synchronously.
 */
export function batchedStdout(fd = 1): Required<LogSink> {
  const batch = pino.destination({ dest: fd, sync: true, minLength: BATCH_BYTES, maxWrite: 2 * BATCH_BYTES });
  let due: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(due);
    due = undefined;
    // writes what is held back; nothing at all (no system call) when nothing is
    batch.flush();
  };
  // flush(), not flushSync(): sonic-boom 4's flushSync retries a write that failed for good
  // (EPIPE: nobody reads stdout any more) forever, and the relay would never exit; flush()'s
  // writes are as synchronous here, and a broken pipe just stops the logging
  process.once('exit', flush);
  return {
    write(text: string) {
      batch.write(text);
      // one timer per batch, not per line; it does not keep the process alive
      due ??= setTimeout(flush, BATCH_MS).unref();
    },
    flush,
  };
}

export interface LogOutputOptions {
  /** ANSI colours, for a terminal only. */
  colorize?: boolean;
  /** A person reads the lines as they come: each is written at once. */
  terminal?: boolean;
  /** Where the lines go; stdout in batches (batchedStdout) by default. */
  out?: LogSink;
}

/**
 * Where the relay's log lines go. Every logger writes JSON here, and the output passes it
 * on as it is or made readable by pino-pretty; a reload switches `format` in place, so the
 * loggers already handed out need not be replaced.
 *
 * JSON lines for a machine go out in batches; a line of WRITE_AT_ONCE_LEVEL or above, and
 * every line on a terminal or in the pretty format, is written at once (a person is
 * reading). Pretty lines are made in this thread: pino-pretty as a transport would run in a
 * worker thread, whose last lines a process.exit() can cut off.
 */
export class LogOutput implements DestinationStream {
  /** pino sets lastLevel before each write when this is true. */
  readonly [pino.symbols.needsMetadataGsym] = true;
  lastLevel = 0;
  private readonly out: LogSink;
  private readonly colorize: boolean;
  private readonly terminal: boolean;
  private prettify: ((line: string) => string) | undefined;

  constructor(
    public format: LogFormat,
    options: LogOutputOptions = {},
  ) {
    this.out = options.out ?? batchedStdout();
    this.colorize = options.colorize ?? false;
    this.terminal = options.terminal ?? false;
  }

  write(line: string): void {
    if (this.format === 'json') {
      this.out.write(line);
    } else {
      this.prettify ??= prettifier(this.colorize);
      this.out.write(this.prettify(line));
    }
    if (this.lastLevel >= WRITE_AT_ONCE_LEVEL || this.terminal || this.format === 'pretty') this.out.flush?.();
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
