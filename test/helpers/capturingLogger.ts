// A logger whose lines a test reads back, parsed.
import { createLogger, type Logger } from '../../src/log.js';

export interface CapturedLine {
  msg: string;
  [field: string]: unknown;
}

/** A logger at `info` that keeps each line it writes, parsed, in `lines`. */
export function capturingLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  return { logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as CapturedLine) }), lines };
}
