import { lstat, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Mail is private: only the relay's user may read the spool. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

type Chunk = Buffer | Uint8Array | string;

/**
 * Writes `chunks` to `tmpPath` (a new file), fsyncs it, renames it to `finalPath` and
 * fsyncs the directory of `finalPath` with `syncFinalDirectory` (a groupCommit of
 * fsyncDirectory, shared by the writers of that directory), so that once this resolves the file survives
 * a crash under its final name. `beforeRename` runs last before the rename and may refuse
 * it by throwing (a lock that must still be held). On failure the tmp file is gone; a final file that was
 * already renamed is the caller's to undo. Resolves to the number of bytes written.
 */
export async function commitFile(
  tmpPath: string,
  finalPath: string,
  chunks: AsyncIterable<Chunk> | Iterable<Chunk>,
  syncFinalDirectory: () => Promise<void>,
  beforeRename?: () => Promise<void>,
): Promise<number> {
  let size: number;
  try {
    size = await writeNewFile(tmpPath, chunks);
    await beforeRename?.();
    await rename(tmpPath, finalPath);
  } catch (err) {
    await rm(tmpPath, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncFinalDirectory();
  return size;
}

/** Makes renames and unlinks in `dir` durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeNewFile(path: string, chunks: AsyncIterable<Chunk> | Iterable<Chunk>): Promise<number> {
  // 'wx': never follow or clobber something that is already there.
  const handle = await open(path, 'wx', FILE_MODE);
  let size = 0;
  try {
    for await (const chunk of chunks) size += await writeAll(handle, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return size;
}

/** A write to a nearly full disk may be partial; the next one then reports ENOSPC. */
async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<number> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
  return chunk.length;
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** `dir/name`, or `dir/name.1`, `.2`, … when that is taken: a name nothing is at yet. */
export async function freePath(dir: string, name: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = join(dir, n === 0 ? name : `${name}.${n}`);
    if (!(await pathExists(candidate))) return candidate;
  }
}
