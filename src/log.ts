import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * The relay's logger: JSON lines on stdout (or the given stream). Secrets are redacted
 * by path in case a caller ever logs an object that carries one.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'tlsrelay' },
      redact: { paths: ['*.password', '*.pass', '*.key', '*.passwordHash', 'auth.*'], censor: '[redacted]' },
    },
    destination,
  );
}
