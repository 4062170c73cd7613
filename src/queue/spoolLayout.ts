import { join } from 'node:path';

/**
 * What is where in queue.dir. With `queue.store: lmdb` every message, envelope and claim is
 * in the database in lmdb/ (lmdb/lmdbStore.ts); control/ and quarantine/ serve both stores.
 * The file spool (`queue.store: files`): a message is two files: data/<id> (the bytes as received)
 * and env/<id>.json (the envelope). Both are written in tmp/ and renamed into place; the
 * envelope's presence is the commit point. Damaged entries are moved to quarantine/.
 * lock/<id>.lock says which process may change a message now (messageLock.ts);
 * control/ is where `tlsrelay queue` tells a running relay that it changed the spool.
 * cache/ is not the queue's: the outbound side keeps there what every relay on the spool
 * shares between runs (cache/mta-sts/, see outbound/mtaSts/policyCache.ts).
 * transit/ is not the queue's either: the transit record, one line per delivery session in
 * append-only day files of each relay process (transit/YYYY-MM-DD.INSTANCE.jsonl, see
 * transit/dayFiles.ts), which `report tls` reads; nothing in it is mail.
 */
export interface SpoolLayout {
  root: string;
  tmp: string;
  data: string;
  env: string;
  quarantine: string;
  lock: string;
  control: string;
  lmdb: string;
}

const ENVELOPE_SUFFIX = '.json';

export function spoolLayout(root: string): SpoolLayout {
  return {
    root,
    tmp: join(root, 'tmp'),
    data: join(root, 'data'),
    env: join(root, 'env'),
    quarantine: join(root, 'quarantine'),
    lock: join(root, 'lock'),
    control: join(root, 'control'),
    lmdb: join(root, 'lmdb'),
  };
}

export function dataPath(layout: SpoolLayout, id: string): string {
  return join(layout.data, id);
}

export function envelopePath(layout: SpoolLayout, id: string): string {
  return join(layout.env, envelopeFileName(id));
}

export function lockPath(layout: SpoolLayout, id: string): string {
  return join(layout.lock, `${id}.lock`);
}

export function envelopeFileName(id: string): string {
  return id + ENVELOPE_SUFFIX;
}

/** The queue ID an env/ file name stands for, before the ID itself is validated. */
export function idOfEnvelopeFile(name: string): string | undefined {
  return name.endsWith(ENVELOPE_SUFFIX) ? name.slice(0, -ENVELOPE_SUFFIX.length) : undefined;
}
