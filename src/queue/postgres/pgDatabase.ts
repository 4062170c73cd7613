import pg, { type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import type { Logger } from '../../log.js';
import { QueueUnavailableError } from '../queueUnavailable.js';

export interface PgSettings {
  url: string;
  /** Connections open at once to the database, for this relay. */
  poolSize: number;
}

/** How long to wait for a connection before calling the database unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Whether `err` says the database is away (down, restarting, unreachable, the connection
 * cut), as opposed to a query it refused: SQLSTATE classes 08 (connection exception) and
 * 57P (operator intervention: shutdown, cannot connect now), or a socket that failed.
 */
export function isConnectionFailure(err: unknown): boolean {
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || /^E[A-Z]+$/.test(code))) return true;
  return typeof message === 'string' && /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

/**
 * The shared queue's connections: a pool whose failures are told apart — the database
 * being away becomes QueueUnavailableError, logged once when it starts and once when it
 * ends, however many messages meet it meanwhile.
 */
export class PgDatabase {
  readonly pool: pg.Pool;
  private away = false;

  constructor(
    readonly settings: PgSettings,
    private readonly logger: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: settings.url, max: settings.poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // an idle connection that the server ends (a restart) must not end the process
    this.pool.on('error', (err) => this.failed(err));
  }

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    try {
      const result = await this.pool.query<R>(sql, params);
      this.reached();
      return result;
    } catch (err) {
      throw this.classified(err);
    }
  }

  /**
   * Runs `work` in a transaction on one connection and commits; rolls back when it
   * throws. A connection that failed is not given back to the pool.
   */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.classified(err);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      this.reached();
      return result;
    } catch (err) {
      if (isConnectionFailure(err)) broken = err as Error;
      else await client.query('ROLLBACK').catch((failure: Error) => (broken = failure));
      throw this.classified(err);
    } finally {
      client.release(broken);
    }
  }

  /** A failure of the database's, as callers should see it: QueueUnavailableError when it is away. */
  classified(err: unknown): unknown {
    if (!isConnectionFailure(err)) return err;
    this.failed(err as Error);
    return new QueueUnavailableError(`the queue database cannot be reached: ${(err as Error).message}`, { cause: err });
  }

  /** The database answered: say so once after it was away. */
  reached(): void {
    if (!this.away) return;
    this.away = false;
    this.logger.info('the queue database is reachable again; intake and delivery resume');
  }

  failed(err: Error): void {
    if (this.away) return;
    this.away = true;
    this.logger.error({ err: err.message }, 'the queue database cannot be reached: intake answers 451 4.3.0 and delivery waits until it is back');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
