import pg from 'pg';
import type { Logger } from '../../log.js';
import { isConnectionFailure, type PgDatabase } from './pgDatabase.js';

const CHANNEL = 'tlsrelay_queue';

/** The waits between attempts to listen again after the connection was lost; the last repeats. */
const RELISTEN_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];

/**
 * How the instances on one shared queue (and `tlsrelay queue …` on any host) tell each
 * other that the queue changed: NOTIFY on a channel every instance LISTENs to, on a
 * connection of its own. A notification sent while that connection was down is lost, so
 * each time it listens again (the first time too) the watchers are told at once: they
 * read the queue then, rather than at their next rescan.
 */
export class PgChanges {
  private readonly watchers = new Set<() => void>();
  private listener: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly db: PgDatabase,
    private readonly logger: Logger,
  ) {}

  async announce(): Promise<void> {
    await this.db.query('SELECT pg_notify($1, $2)', [CHANNEL, `pid ${process.pid}`]);
  }

  watch(onChange: () => void): () => void {
    this.watchers.add(onChange);
    if (this.listener === undefined && this.retry === undefined) void this.listen();
    return () => {
      this.watchers.delete(onChange);
      if (this.watchers.size === 0) this.stop();
    };
  }

  close(): void {
    this.closed = true;
    this.watchers.clear();
    this.stop();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.db.settings.url });
    this.listener = client;
    client.on('notification', () => this.tell());
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('the connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.listener !== client) return;
    this.failures = 0;
    this.tell();
  }

  /** The listening connection failed: listen again after a while, unless nobody watches any more. */
  private lost(client: pg.Client, err: Error): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    if (this.closed || this.watchers.size === 0) return;
    if (isConnectionFailure(err)) this.db.failed(err);
    const delay = RELISTEN_DELAYS_MS[Math.min(this.failures++, RELISTEN_DELAYS_MS.length - 1)]!;
    this.logger.debug({ err: err.message, retryInMs: delay }, 'not listening for queue changes; trying again');
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.listen();
    }, delay).unref();
  }

  private stop(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.listener;
    this.listener = undefined;
    client?.end().catch(() => undefined);
  }

  private tell(): void {
    for (const watcher of this.watchers) watcher();
  }
}
