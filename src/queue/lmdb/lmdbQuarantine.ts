import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { commitFile, DIR_MODE, freePath, fsyncDirectory } from '../durableFile.js';
import { envelopeFileName, type SpoolLayout } from '../spoolLayout.js';
import { committed } from './lmdbCommit.js';
import { chunkKeys, type LmdbStore } from './lmdbStore.js';

/**
 * Moves a damaged message out of the store into quarantine/, as the file spool does: its
 * envelope text as ID.json and its bytes as ID.eml, written durably before the message
 * leaves the store, so that nothing is lost when it cannot be delivered. The caller holds
 * the message's claim. A message that cannot be written out stays (logged) and is skipped.
 */
export async function quarantineLmdbMessage(store: LmdbStore, layout: SpoolLayout, id: string, problem: string, logger: Logger): Promise<void> {
  const { envelopes, chunks } = store;
  const keys = chunkKeys(store, id);
  try {
    await mkdir(layout.quarantine, { recursive: true, mode: DIR_MODE });
    const syncFolder = () => fsyncDirectory(layout.quarantine);
    const envelopeAs = await freePath(layout.quarantine, envelopeFileName(id));
    await commitFile(draftPath(layout, id), envelopeAs, [envelopes.get(id) ?? ''], syncFolder);
    const dataAs = await freePath(layout.quarantine, `${id}.eml`);
    // piece by piece: a 50 MB message is not read into memory whole
    const pieces = (function* () {
      for (const key of keys) yield chunks.get(key) ?? Buffer.alloc(0);
    })();
    await commitFile(draftPath(layout, id), dataAs, pieces, syncFolder);
    await committed(
      store.root.batch(() => {
        void envelopes.remove(id);
        for (const key of keys) void chunks.remove(key);
      }),
      layout.lmdb,
    );
    logger.warn({ queueId: id, quarantinedAs: [envelopeAs, dataAs], reason: problem }, 'damaged spool entry moved to quarantine');
  } catch (err) {
    logger.error({ queueId: id, reason: problem, err: (err as Error).message }, 'damaged spool entry cannot be moved to quarantine; it is skipped');
  }
}

/** A file being written in quarantine/ itself (renamed within one folder); a dot name, so it never looks like an entry. */
function draftPath(layout: SpoolLayout, id: string): string {
  return join(layout.quarantine, `.${id}.${randomBytes(4).toString('hex')}.tmp`);
}
