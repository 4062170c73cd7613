// The queue as a relay keeps it, for tests that look at what was queued: opened beside the
// relay (several processes on one store are what the relay and `tlsrelay queue` are), or
// counted, without knowing a store's format.
import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { QUEUE_STORES, type QueueStore } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import { openLmdbStore } from '../../src/queue/lmdb/lmdbStore.js';
import type { MessageQueue } from '../../src/queue/messageQueue.js';
import { openStore } from '../../src/queue/openQueue.js';
import { idOfEnvelopeFile, spoolLayout } from '../../src/queue/spoolLayout.js';

export { QUEUE_STORES, type QueueStore };

/** The store in `dir` by itself (not moving anything in from the other one). */
export function openQueueStore(store: QueueStore, dir: string): Promise<MessageQueue> {
  return openStore(store, dir, createLogger('silent'));
}

/** Everything a stream (openData) gives, as one buffer. */
export async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface StoreContents {
  /** IDs of the messages queued. */
  queued: string[];
  /** IDs of the messages claimed now. */
  claimed: string[];
  /** Files in quarantine/. */
  quarantined: string[];
}

/** What the store in `dir` holds right now, read as it is (no recovery, nothing changed). */
export async function storeContents(store: QueueStore, dir: string): Promise<StoreContents> {
  const layout = spoolLayout(dir);
  const quarantined = await names(layout.quarantine);
  if (store === 'files') {
    const queued = (await names(layout.env)).map((name) => idOfEnvelopeFile(name) ?? name);
    return { queued, claimed: (await names(layout.lock)).map((name) => name.replace(/\.lock$/, '')), quarantined };
  }
  const lmdb = await openLmdbStore(layout.lmdb);
  try {
    return { queued: [...lmdb.envelopes.getKeys()], claimed: [...lmdb.claims.getKeys()], quarantined };
  } finally {
    await lmdb.root.close();
  }
}

async function names(folder: string): Promise<string[]> {
  return readdir(folder).then(
    (found) => found.sort(),
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    },
  );
}
