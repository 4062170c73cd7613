import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { QUEUE_STORES, type PostgresQueueConfig, type QueueConfig, type QueueStore } from '../config/types.js';
import type { Logger } from '../log.js';
import { LmdbQueue } from './lmdb/lmdbQueue.js';
import { DIR_MODE } from './durableFile.js';
import { CLAIM_STALE_MS, type MessageQueue } from './messageQueue.js';
import { moveMessages } from './moveMessages.js';
import { PgQueue } from './postgres/pgQueue.js';
import { Spool } from './spool.js';
import { spoolLayout } from './spoolLayout.js';

/**
 * Opens the queue the config names, recovered and ready: the one place that knows which
 * stores there are, for the relay and for `tlsrelay queue …` alike. Rejects with a
 * message that says what is wrong with the store (its folder cannot be made or read).
 *
 * Messages found in the other store in queue.dir — the file spool of an older version, or
 * the store used before `queue.store` was switched — are moved into this one first, so
 * that switching stores, either way, is a restart. With `queue.postgres`, both stores of
 * queue.dir are the others: a relay that joins the shared queue brings its messages. Those another process holds (or whose
 * move failed) stay where they are and are tried again every `retryMs` (by default
 * CLAIM_STALE_MS, when a stale claim can be taken over) while the queue is open, until none
 * is left.
 */
export async function openQueue(config: QueueConfig, logger: Logger, retryMs = CLAIM_STALE_MS): Promise<MessageQueue> {
  const queue = config.postgres ? await openShared(config.postgres, config.dir, logger) : await openStore(config.store, config.dir, logger);
  const to = config.postgres ? 'postgres' : config.store;
  const others = config.postgres ? QUEUE_STORES : [otherStore(config.store)];
  /** Moves what it can; says how many messages came, and how many are left (busy, or their move failed). */
  const moveFrom = async (other: QueueStore): Promise<{ moved: number; left: number }> => {
    if (!(await holdsMessages(other, config.dir))) return { moved: 0, left: 0 };
    const from = await openStore(other, config.dir, logger);
    try {
      const { moved, busy, failed } = await moveMessages(from, queue, logger);
      if (moved + busy + failed > 0) logger.info({ moved, busy, from: other, to }, 'queue messages moved from the other store');
      return { moved, left: busy + failed };
    } finally {
      await from.close();
    }
  };
  const moveIn = async (): Promise<{ moved: number; left: number }> => {
    const total = { moved: 0, left: 0 };
    for (const other of others) {
      const { moved, left } = await moveFrom(other);
      total.moved += moved;
      total.left += left;
    }
    return total;
  };
  if ((await moveIn()).left === 0) return queue;
  const retry = setInterval(() => {
    void moveIn().then(
      async ({ moved, left }) => {
        if (left === 0) clearInterval(retry);
        // a running relay reads its queue again for what came in — only then: an announcement also ends its next hops' backoff
        if (moved > 0) await queue.announceChange();
      },
      (err: Error) => logger.error({ err: err.message }, 'cannot move messages from the other queue store; tried again later'),
    );
  }, retryMs).unref();
  return closingAlso(queue, () => clearInterval(retry));
}

/** The shared queue; queue.dir is made all the same, as the transit record and the caches stay in it. */
async function openShared(settings: PostgresQueueConfig, dir: string, logger: Logger): Promise<MessageQueue> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE }).catch((err: Error) => {
    throw new Error(`cannot make the folder ${dir}: ${err.message}`, { cause: err });
  });
  return PgQueue.open(settings, logger);
}

/** The store by itself, recovered, without the move from the other one (tests read a relay's queue through it). */
export function openStore(store: QueueStore, dir: string, logger: Logger): Promise<MessageQueue> {
  return store === 'lmdb' ? LmdbQueue.open(dir, logger) : Spool.open(dir, logger);
}

function otherStore(store: QueueStore): QueueStore {
  return store === 'lmdb' ? 'files' : 'lmdb';
}

/** Whether `store` was ever used in `dir`: looked up without making anything of it. */
async function holdsMessages(store: QueueStore, dir: string): Promise<boolean> {
  const layout = spoolLayout(dir);
  const mark = store === 'lmdb' ? join(layout.lmdb, 'data.mdb') : layout.env;
  return access(mark).then(
    () => true,
    () => false,
  );
}

/** The queue, whose close() also ends `stop` (the retries of the move). */
function closingAlso(queue: MessageQueue, stop: () => void): MessageQueue {
  const close = queue.close.bind(queue);
  return Object.assign(queue, {
    close: async () => {
      stop();
      await close();
    },
  });
}
