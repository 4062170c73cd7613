import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { createLogger } from '../../src/log.js';
import type { ClaimHolder } from '../../src/queue/messageQueue.js';
import { PgQueue } from '../../src/queue/postgres/pgQueue.js';
import { needsPostgres, startPostgres } from '../helpers/postgres.js';
import { messageQueueContract } from './messageQueueContract.js';

const logger = createLogger('silent');

t.test('the shared queue on PostgreSQL', needsPostgres(), async (t) => {
  const cluster = await startPostgres();
  t.teardown(() => cluster.stop());
  const made = new Set<string>();

  /** A database of its own for each folder the contract names: two opens of one folder share it, as two relays share one database. */
  const databaseFor = async (dir: string): Promise<string> => {
    const name = `q_${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;
    if (!made.has(name)) {
      await cluster.sql(`CREATE DATABASE ${name}`);
      made.add(name);
    }
    return name;
  };

  messageQueueContract(t, 'the PostgreSQL store', {
    open: async (dir) => PgQueue.open({ url: cluster.urlOf(await databaseFor(dir)), poolSize: 5, leaseSeconds: 60 }, logger),
    // what another instance leaves that found the lease ended and took the message over: the row with a token of its own
    async takeOver(dir, id) {
      const holder: ClaimHolder = { pid: process.ppid, host: 'relay-b', token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
      await cluster.sql(`UPDATE tlsrelay_claims SET token = '${holder.token}', holder = '${JSON.stringify(holder)}' WHERE id = '${id}'`, await databaseFor(dir));
      return holder;
    },
  });
});
