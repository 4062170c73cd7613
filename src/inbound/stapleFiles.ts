import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { ReplacedFiles } from '../queue/replacedFiles.js';
import type { StapleStore } from '../tls/stapling/ocspStapler.js';

// The staples on disk, `<queue.dir>/cache/ocsp/<sha256 of the certificate>.der`: the DER
// response as the responder sent it, written whole under a temporary name and renamed, so
// a restart reads an old response or a new one, never half of one. Whoever reads one
// checks it again (signature, certificate, dates): a file proves nothing by being there.

/** `<queue.dir>/cache/ocsp`. */
export const ocspCacheDir = (queueDir: string): string => join(queueDir, 'cache', 'ocsp');

/** Problems are logged here, never thrown: a cache that fails costs only a fetch. */
export class StapleFiles implements StapleStore {
  private readonly files: ReplacedFiles;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.files = new ReplacedFiles(dir);
  }

  fileOf(certificateId: string): string {
    return join(this.dir, `${certificateId}.der`);
  }

  async read(certificateId: string): Promise<Buffer | undefined> {
    const file = this.fileOf(certificateId);
    try {
      return await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.logger.warn({ file, err: (err as Error).message }, 'cannot read the cached OCSP staple; it is fetched again');
      return undefined;
    }
  }

  async write(certificateId: string, der: Buffer): Promise<void> {
    try {
      await this.files.replace(certificateId, '.der', der);
    } catch (err) {
      const file = this.fileOf(certificateId);
      this.logger.warn({ file, err: (err as Error).message }, 'cannot write the OCSP staple to disk; it is served from memory, and fetched again after a restart');
    }
  }

  /** A staple that must not come back after a restart (the certificate was revoked). */
  async remove(certificateId: string): Promise<void> {
    const file = this.fileOf(certificateId);
    await rm(file, { force: true }).catch((err: Error) => this.logger.warn({ file, err: err.message }, 'cannot remove the cached OCSP staple'));
  }
}
