import type { SMTPServer } from 'smtp-server';

/** The parts of smtp-server's per-connection object that a graceful stop needs. */
interface LiveConnection {
  /** Set while the client is sending message data (a private field of smtp-server's). */
  _dataStream?: unknown;
  send(code: number, text: string): void;
  close(): void;
}

const SHUTTING_DOWN = '4.3.2 Service shutting down, try again later';

/**
 * Stops one listener the way an MTA should: no new connections, 421 at once to every
 * session that is not in the middle of DATA, and those in DATA may finish (smtp-server
 * sends them 421 itself once its closeTimeout has passed). Resolves when the listener
 * is closed.
 */
export function drainListener(server: SMTPServer): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const connections = (server as unknown as { connections: Set<LiveConnection> }).connections;
  for (const connection of [...connections]) {
    if (connection._dataStream) continue;
    connection.send(421, SHUTTING_DOWN);
    connection.close();
  }
  return closed;
}
