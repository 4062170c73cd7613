import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log.js';
import { LmdbQueue } from '../../src/queue/lmdb/lmdbQueue.js';
import { openLmdbStore } from '../../src/queue/lmdb/lmdbStore.js';
import type { ClaimHolder } from '../../src/queue/messageQueue.js';
import { messageQueueContract } from './messageQueueContract.js';

const logger = createLogger('silent');

messageQueueContract(t, 'the LMDB store', {
  open: (dir) => LmdbQueue.open(dir, logger),
  // what a relay on another host leaves that judged the claim stale and took it over: a record with a version of its own
  async takeOver(dir, id) {
    const holder: ClaimHolder = { pid: process.ppid, host: 'relay-b', token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
    const store = await openLmdbStore(join(dir, 'lmdb'));
    try {
      await store.claims.put(id, { ...holder, refreshedAt: Date.now() }, 424242);
    } finally {
      await store.root.close();
    }
    return holder;
  },
});
