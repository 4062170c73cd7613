import { watch, type FSWatcher } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { DIR_MODE, FILE_MODE } from './durableFile.js';

/** The file in the folder whose change tells a running relay to read the queue again. */
const CHANGED_FILE = 'changed';

/**
 * How `tlsrelay queue …` tells a running relay that it changed the queue, whatever store
 * keeps it: it rewrites control/changed in the queue folder, which the relay watches
 * (fs.watch). The folder holds nothing else, so any event in it counts: some platforms do
 * not name the file that changed.
 */
export class ChangeSignal {
  private readonly watchers = new Set<FSWatcher>();

  private constructor(
    private readonly folder: string,
    private readonly logger: Logger,
  ) {}

  /** `folder`: the queue's control/ folder, made if missing. */
  static async open(folder: string, logger: Logger): Promise<ChangeSignal> {
    await mkdir(folder, { recursive: true, mode: DIR_MODE });
    return new ChangeSignal(folder, logger);
  }

  async announce(): Promise<void> {
    await writeFile(join(this.folder, CHANGED_FILE), `${new Date().toISOString()} by pid ${process.pid}\n`, { mode: FILE_MODE });
  }

  /** Calls `onChange` at every announce(), by any process; returns the stop function. */
  watch(onChange: () => void): () => void {
    const watcher = watch(this.folder, () => onChange());
    watcher.on('error', (err) => this.logger.error({ err: err.message }, 'cannot watch the queue for changes; they are seen at the next rescan'));
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
      watcher.close();
    };
  }

  /** Stops every watcher left. */
  close(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers.clear();
  }
}
