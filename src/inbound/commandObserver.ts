import type { SMTPServerOptions } from 'smtp-server';

/** Told of every command line and every reply of the sessions of one listener, by session ID. */
export interface CommandListener {
  command(sessionId: string, word: string): void;
  reply(sessionId: string, code: number): void;
}

type ObservingLogger = NonNullable<Exclude<SMTPServerOptions['logger'], boolean>>;

/**
 * smtp-server has no event for "a command came in" or "a reply went out"; the only place
 * that sees both is its `logger` option, which it calls at debug level with
 * `({ tnx: 'command', cid, command }, 'C:', line)` for every line it takes as a command and
 * `({ tnx: 'send', cid }, 'S:', reply)` for every reply it writes. This is the one place
 * that relies on that shape (an internal of smtp-server 3.x, not its documented API);
 * test/inbound/commandObserver.test.ts runs a real server with it and fails if an upgrade
 * changes it. Everything else smtp-server would log is dropped, as with `logger: false`.
 */
export function commandObservingLogger(listener: CommandListener): ObservingLogger {
  const ignore = (): void => undefined;
  return {
    trace: ignore,
    info: ignore,
    warn: ignore,
    error: ignore,
    fatal: ignore,
    debug(entry: { tnx?: unknown; cid?: unknown; command?: unknown }, _marker: unknown, text: unknown) {
      if (typeof entry?.cid !== 'string') return;
      if (entry.tnx === 'command' && typeof entry.command === 'string') listener.command(entry.cid, entry.command);
      else if (entry.tnx === 'send' && typeof text === 'string') {
        const code = Number(text.slice(0, 3));
        if (Number.isInteger(code)) listener.reply(entry.cid, code);
      }
    },
  };
}
