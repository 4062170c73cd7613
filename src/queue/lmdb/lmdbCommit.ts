import { statfs } from 'node:fs/promises';

/**
 * A write to the store, awaited so that its failure says why. lmdb-js rejects every write
 * of a failed commit with "Commit failed" and the cause on a second promise
 * (`commitError`), which it rejects too: that one is handled here — it would otherwise be
 * an unhandled rejection, which ends the process — and its cause named. LMDB reports a
 * disk that fills up under a commit as a short write (EIO), so the free space of the
 * store's folder is named with it. lmdb-js also prints each failed commit to stderr.
 */
export async function committed<T>(write: Promise<T>, folder: string): Promise<T> {
  try {
    return await write;
  } catch (err) {
    throw await commitFailure(err, folder);
  }
}

async function commitFailure(err: unknown, folder: string): Promise<Error> {
  const pending = (err as { commitError?: Promise<unknown> }).commitError;
  if (pending === undefined) return err as Error;
  const cause = await pending.then(
    () => err as Error,
    (failure: unknown) => failure as Error,
  );
  const free = await statfs(folder).then(
    ({ bavail, bsize }) => `${bavail * bsize} bytes are free on its disk`,
    () => 'its disk cannot be asked how full it is',
  );
  return new Error(`the queue store could not commit: ${cause.message}; ${free}`, { cause });
}
