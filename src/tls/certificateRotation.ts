import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { formatFingerprint } from '../config/fingerprint.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { oneLineName } from './distinguishedName.js';
import { certificateFingerprints } from './fingerprints.js';
import { loadCertificate, TlsFileError, type ServedCertificate } from './material.js';

// Replaced certificate files are served without a restart. The folders are watched, not
// the files: certbot and acme.sh put a new file in place by a rename (or by re-pointing
// a symlink), after which a watch on the old file would see nothing more.

/**
 * A renewal writes a pair as two files, a file often in more than one write: a change is
 * read once the folder has been quiet this long.
 */
export const SETTLE_MS = 1_000;

/** What a replacement brings: the pairs to serve from now on (whose dates the expiry watch judges anew). */
export type RotationListener = (certificates: ServedCertificate[]) => void;

/** A file's bytes, or nothing when it cannot be read: to tell one refused state from the next. */
function contentsOf(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

export class CertificateRotation {
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private config: Config | undefined;
  private served: ServedCertificate[] = [];
  /** Per pair, what was last refused: said once, not again at every event in its folder. */
  private readonly refused = new Map<number, string>();

  constructor(
    private readonly logger: Logger,
    private readonly onRotated: RotationListener,
    private readonly settleMs = SETTLE_MS,
  ) {}

  /** At start and after each reload: the config whose files to watch, and the pairs served from them now. */
  follow(config: Config, served: ServedCertificate[]): void {
    this.config = config;
    this.served = served;
    this.refused.clear();
    const folders = new Set(served.flatMap(({ files }) => [dirname(files.cert), dirname(files.key)]));
    for (const [folder, watcher] of this.watchers) {
      if (folders.has(folder)) continue;
      watcher.close();
      this.watchers.delete(folder);
    }
    for (const folder of folders) if (!this.watchers.has(folder)) this.watchFolder(folder);
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private watchFolder(folder: string): void {
    const lost = (err: Error): void => {
      this.watchers.get(folder)?.close();
      this.watchers.delete(folder);
      this.logger.warn({ folder, err: err.message }, 'cannot watch this certificate folder: a replaced certificate there is served only after SIGHUP or a restart');
    };
    try {
      // any event counts, whatever its file name: a Kubernetes secret swaps a `..data` symlink
      const watcher = watch(folder, { persistent: false }, () => this.changed());
      watcher.on('error', lost);
      this.watchers.set(folder, watcher);
    } catch (err) {
      lost(err as Error);
    }
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reread(), this.settleMs);
  }

  /** Each pair read again: a changed one that loads is swapped in, one that does not is refused and the old one stays. */
  private reread(): void {
    const config = this.config;
    if (config === undefined) return;
    const next = this.served.map((current, index) => {
      try {
        const loaded = loadCertificate(config, current.files);
        this.refused.delete(index);
        if (loaded.cert === current.cert && loaded.key === current.key) return current;
        return loaded;
      } catch (err) {
        this.refuse(index, current, err as Error);
        return current;
      }
    });
    if (next.some((certificate, index) => certificate !== this.served[index])) {
      this.served = next;
      this.onRotated(next);
    }
  }

  private refuse(index: number, current: ServedCertificate, err: Error): void {
    // the same words about other contents (another key that does not fit) are said again
    const what = createHash('sha256').update(err.message).update(contentsOf(current.files.cert)).update(contentsOf(current.files.key)).digest('hex');
    if (this.refused.get(index) === what) return;
    this.refused.set(index, what);
    const where = err instanceof TlsFileError ? err.place : undefined;
    this.logger.error({ cert: current.files.cert, where, err: err.message }, 'replaced certificate refused; the one loaded before keeps serving');
  }
}

/** The pairs of `after` that `before` did not serve: new to the clients from now on. */
export function swappedIn(before: readonly ServedCertificate[], after: readonly ServedCertificate[]): ServedCertificate[] {
  return after.filter((certificate) => !before.some((old) => old.cert === certificate.cert && old.key === certificate.key));
}

/** One info line per pair swapped in: what a partner who pins or checks it needs to know. */
export function logSwapped(logger: Logger, before: readonly ServedCertificate[], after: readonly ServedCertificate[]): void {
  for (const { files, leaf } of swappedIn(before, after)) {
    logger.info(
      {
        cert: files.cert,
        ...(files.name === undefined ? {} : { certificate: files.name }),
        subject: oneLineName(leaf.subject),
        notAfter: new Date(leaf.validTo).toISOString(),
        fingerprint: formatFingerprint(certificateFingerprints(leaf.raw).certificate),
      },
      'certificate loaded: new sessions get it',
    );
  }
}
