import type { Logger } from '../../log.js';
import { LEFTOVER_GRACE_MS } from '../spoolRecovery.js';
import type { LmdbClaims } from './lmdbClaims.js';
import { committed } from './lmdbCommit.js';
import { chunkKeys, type LmdbStore } from './lmdbStore.js';

/**
 * What a crash leaves in the store, put right at open: claims of holders that are gone,
 * and the pieces of messages whose envelope never came (a `writing` record older than
 * LEFTOVER_GRACE_MS — a younger one may be a store() running now in another process).
 * Committed messages need nothing: LMDB commits are atomic, so each is whole.
 */
export async function recoverLmdbStore(store: LmdbStore, claims: LmdbClaims, folder: string, logger: Logger): Promise<void> {
  await claims.removeStale((id, holder) => logger.info({ queueId: id, holder, reason: 'holder gone' }, 'stale message claim removed'));
  const now = Date.now();
  for (const { key: id, value: startedAt } of store.writing.getRange()) {
    if (now - startedAt < LEFTOVER_GRACE_MS) continue;
    const committedMessage = store.envelopes.doesExist(id);
    const keys = committedMessage ? [] : chunkKeys(store, id);
    await committed(
      store.root.batch(() => {
        for (const key of keys) void store.chunks.remove(key);
        void store.writing.remove(id);
      }),
      folder,
    );
    if (!committedMessage) logger.info({ queueId: id, pieces: keys.length, reason: 'message data without envelope' }, 'spool leftover removed');
  }
}
