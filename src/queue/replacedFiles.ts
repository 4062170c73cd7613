import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { commitFile, DIR_MODE, fsyncDirectory } from './durableFile.js';
import { groupCommit } from './groupCommit.js';

/**
 * A folder of files each replaced whole, as the relay's caches keep them: written under a
 * temporary name `.STEM.PID.RANDOM.tmp`, synced and renamed over the old file (the folder's
 * syncs shared by concurrent writes), so a reader finds the old content or the new, never
 * half of it. The folder is made at the first write; `whenMade` runs once then (a cache
 * removes what a crash left there).
 */
export class ReplacedFiles {
  private readonly syncDirectory: () => Promise<void>;
  private made: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly whenMade: () => Promise<void> = async () => undefined,
  ) {
    this.syncDirectory = groupCommit(() => fsyncDirectory(dir));
  }

  /** Replaces `STEM + extension` in the folder with `content`; rejects when it cannot (nothing half-written is left in its place). */
  async replace(stem: string, extension: string, content: Buffer | string): Promise<void> {
    this.made ??= mkdir(this.dir, { recursive: true, mode: DIR_MODE }).then(() => this.whenMade());
    await this.made.catch((err: unknown) => {
      // tried again at the next write: the folder may be writable by then
      this.made = undefined;
      throw err;
    });
    const tmp = join(this.dir, `.${stem}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    await commitFile(tmp, join(this.dir, `${stem}${extension}`), [content], this.syncDirectory);
  }
}
