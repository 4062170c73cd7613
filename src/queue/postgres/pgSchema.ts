import type { Pool, PoolClient } from 'pg';

/**
 * The shared queue's tables, as versioned migrations: each entry brings the schema from
 * its index to the next version, and the relay applies what is missing at start. Every
 * instance may start at once: the migrations run in one transaction under an advisory
 * lock, so the second waits and then finds nothing left to do. Append only — a migration
 * that shipped is never changed.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tlsrelay_messages (
    id text PRIMARY KEY,
    received_at timestamptz NOT NULL,
    size bigint NOT NULL,
    envelope jsonb NOT NULL
  );
  CREATE INDEX tlsrelay_messages_arrival ON tlsrelay_messages (received_at, id);
  -- a message's bytes in pieces, written in the transaction that commits the message:
  -- the foreign key is checked at commit, when the message row is there too
  CREATE TABLE tlsrelay_message_chunks (
    id text NOT NULL REFERENCES tlsrelay_messages (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    seq integer NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (id, seq)
  );
  -- a claim is a lease on the database's clock: whoever holds the token may write for
  -- the message until lease_until, and renews it while it works
  CREATE TABLE tlsrelay_claims (
    id text PRIMARY KEY,
    token text NOT NULL,
    holder jsonb NOT NULL,
    lease_until timestamptz NOT NULL
  );
  CREATE TABLE tlsrelay_quarantine (
    id text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    problem text NOT NULL,
    envelope text,
    bytes bytea
  );
  `,
];

/** The version this relay's code expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any constant of our own: the lock that makes instances migrate one after another. */
const MIGRATION_LOCK = 0x746c_7372;

/**
 * Brings the database to SCHEMA_VERSION. Refuses a database migrated by a newer relay
 * (its tables may mean something this code does not know).
 */
export async function migrateSchema(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS tlsrelay_schema (version integer NOT NULL)');
    const version = await currentVersion(client);
    if (version > SCHEMA_VERSION) throw new Error(`the database's queue schema is version ${version}, newer than this relay's ${SCHEMA_VERSION}: run the newer relay`);
    for (let at = version; at < SCHEMA_VERSION; at++) await client.query(MIGRATIONS[at]!);
    await client.query('DELETE FROM tlsrelay_schema');
    await client.query('INSERT INTO tlsrelay_schema (version) VALUES ($1)', [SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function currentVersion(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ version: number }>('SELECT version FROM tlsrelay_schema');
  return rows[0]?.version ?? 0;
}
