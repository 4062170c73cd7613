// What is particular to the shared queue on PostgreSQL, beyond the MessageQueue contract
// (pgQueueContract.test.ts): leases that end, instances that migrate the schema at once,
// and a database that goes away and comes back — against a private cluster.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { createLogger } from '../../src/log.js';
import type { ClaimHolder } from '../../src/queue/messageQueue.js';
import { PgQueue } from '../../src/queue/postgres/pgQueue.js';
import { SCHEMA_VERSION } from '../../src/queue/postgres/pgSchema.js';
import { QueueUnavailableError } from '../../src/queue/queueUnavailable.js';
import type { NewMessage } from '../../src/queue/types.js';
import { capturingLogger } from '../helpers/capturingLogger.js';
import { needsPostgres, startPostgres } from '../helpers/postgres.js';
import { until } from '../helpers/until.js';

const silent = createLogger('silent');
const message: NewMessage = { from: 'alice@a.test', recipients: [{ address: 'bob@b.test', domain: 'b.test' }] };
const text = 'Subject: hi\r\n\r\nHello.\r\n';

t.test('the shared queue on PostgreSQL', needsPostgres(), async (t) => {
  const cluster = await startPostgres();
  t.teardown(() => cluster.stop());
  let databases = 0;
  /** A new, empty database of the cluster. */
  const freshDatabase = async (): Promise<string> => {
    const name = `pg_${++databases}`;
    await cluster.sql(`CREATE DATABASE ${name}`);
    return name;
  };
  const opened = async (t: Test, database: string, leaseSeconds = 60, logger = silent): Promise<PgQueue> => {
    const queue = await PgQueue.open({ url: cluster.urlOf(database), poolSize: 4, leaseSeconds }, logger);
    t.teardown(() => queue.close());
    return queue;
  };

  t.test('instances that start at once on an empty database make the schema once', async (t) => {
    const database = await freshDatabase();
    await Promise.all([opened(t, database), opened(t, database), opened(t, database)]);
    t.equal(await cluster.sql('SELECT version FROM tlsrelay_schema', database), String(SCHEMA_VERSION), 'one row, this version');
    t.equal(await cluster.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tlsrelay_%'", database), '5', 'the queue tables');
  });

  t.test('a database a newer relay migrated is refused, not written to', async (t) => {
    const database = await freshDatabase();
    await (await PgQueue.open({ url: cluster.urlOf(database), poolSize: 1, leaseSeconds: 60 }, silent)).close();
    await cluster.sql(`UPDATE tlsrelay_schema SET version = ${SCHEMA_VERSION + 1}`, database);
    await t.rejects(PgQueue.open({ url: cluster.urlOf(database), poolSize: 1, leaseSeconds: 60 }, silent), /schema is version \d+, newer than this relay's/);
  });

  t.test("another host's lease holds until it ends; then the message is another instance's", async (t) => {
    const database = await freshDatabase();
    const queue = await opened(t, database);
    const { id } = await queue.store(message, Readable.from([text]));
    const elsewhere: ClaimHolder = { pid: 4242, host: 'relay-b', token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
    // what an instance on another host leaves that took the claim and then died or stalled
    await cluster.sql(`INSERT INTO tlsrelay_claims (id, token, holder, lease_until) VALUES ('${id}', '${elsewhere.token}', '${JSON.stringify(elsewhere)}', now() + interval '1 hour')`, database);
    t.match(await queue.claim(id), { kind: 'busy', holder: { host: 'relay-b', pid: 4242 } }, 'busy while its lease runs, whatever its process ID means here');
    await cluster.sql(`UPDATE tlsrelay_claims SET lease_until = now() - interval '1 second' WHERE id = '${id}'`, database);
    const taken = await queue.claim(id);
    t.equal(taken.kind, 'claimed', 'claimed once the lease ended');
    if (taken.kind === 'claimed') {
      t.same(await taken.claim.confirm(), { kind: 'held' });
      await queue.remove(id, taken.claim);
    }
    t.same(await queue.list(), [], 'and its holder removed it');
  });

  t.test('a holder renews its lease while it works', async (t) => {
    const database = await freshDatabase();
    const queue = await opened(t, database, 6);
    const { id } = await queue.store(message, Readable.from([text]));
    const attempt = await queue.claim(id);
    if (attempt.kind !== 'claimed') throw new Error('not claimed');
    const leaseEnd = async (): Promise<number> => Date.parse(await cluster.sql(`SELECT to_json(lease_until)#>>'{}' FROM tlsrelay_claims WHERE id = '${id}'`, database));
    const first = await leaseEnd();
    // renewed every third of the lease (2 s): twice that and the lease has moved on
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    t.ok((await leaseEnd()) > first, 'the lease ends later than it did');
    const other = await opened(t, database, 6);
    t.equal((await other.claim(id)).kind, 'busy', 'another instance still cannot take it');
    await attempt.claim.release();
  });

  t.test('the database goes away: calls fail as unavailable, logged once; back, everything works again', async (t) => {
    const database = await freshDatabase();
    const { logger, lines } = capturingLogger();
    const queue = await opened(t, database, 60, logger);
    const before = await queue.store(message, Readable.from([text]));
    await cluster.halt();
    t.teardown(() => cluster.start().catch(() => undefined));
    for (let attempt = 0; attempt < 3; attempt++) {
      const refusal = await queue.store(message, Readable.from([text])).then(
        () => undefined,
        (err: unknown) => err,
      );
      t.type(refusal, QueueUnavailableError, `store ${attempt + 1} refused as unavailable`);
    }
    await t.rejects(queue.list(), QueueUnavailableError, 'list too');
    const outages = lines.filter((line) => line.msg.startsWith('the queue database cannot be reached'));
    t.equal(outages.length, 1, 'the outage is logged once, not per call');
    await cluster.start();
    const after = await queue.store(message, Readable.from([text]));
    t.same((await queue.list()).map((envelope) => envelope.id), [before.id, after.id], 'what was stored before is there, and storing works again');
    t.ok(lines.some((line) => line.msg.startsWith('the queue database is reachable again')), 'the return is logged');
  });

  t.test('watchChanges listens again after the database came back, and says so to its watchers', async (t) => {
    const database = await freshDatabase();
    const queue = await opened(t, database);
    const command = await opened(t, database);
    let told = 0;
    t.teardown(queue.watchChanges(() => told++));
    await until(() => told >= 1);
    await cluster.restart({ downForMs: 200 });
    const afterRestart = told;
    await until(() => told > afterRestart);
    const beforeAnnounce = told;
    await command.announceChange();
    await until(() => told > beforeAnnounce);
    t.pass('every notice arrived');
  });
});
