import { lstat, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import type { MtaStsPolicy } from '../../policy/mtaSts.js';
import { ReplacedFiles } from '../../queue/replacedFiles.js';
import { LEFTOVER_GRACE_MS } from '../../queue/spoolRecovery.js';
import { parseMtaStsPolicy } from './policyText.js';
import { POLICY_ID } from './txtRecord.js';

// The durable MTA-STS cache: one small JSON file per domain, `<dir>/<domain>.json`, written
// whole under a temporary name and renamed, so that a reader — this process after a
// restart, or another relay on the same spool — sees an old file or a new one, never half
// of one. The policy is kept as the text that was served and read again on load: one
// parser decides what a policy is, and a file it refuses is damaged.

/** A policy as fetched, with what the cache rules need. */
export interface CachedPolicy {
  domain: string;
  /** The TXT record's id when the policy was fetched. */
  id: string;
  fetchedAt: Date;
  text: string;
  policy: MtaStsPolicy;
}

/** When a cached policy stops counting: max_age after its fetch. */
export const expiryOf = (entry: CachedPolicy): Date => new Date(entry.fetchedAt.getTime() + entry.policy.maxAge * 1000);

const FORMAT = 1;
/** `.DOMAIN.PID.RANDOM.tmp`: a write not yet renamed into place. */
const TMP_FILE = /^\..+\.[0-9]+\.[0-9a-f]+\.tmp$/;

/** The file's JSON: what a fetch learnt, in a form that outlives the process. */
interface CacheFile {
  format: typeof FORMAT;
  domain: string;
  id: string;
  fetchedAt: string;
  text: string;
}

function encode(entry: CachedPolicy): string {
  const file: CacheFile = { format: FORMAT, domain: entry.domain, id: entry.id, fetchedAt: entry.fetchedAt.toISOString(), text: entry.text };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The entry a file holds, or what is wrong with it. */
export function decodeCacheFile(content: string, domain: string): CachedPolicy | string {
  let file: Partial<Record<keyof CacheFile, unknown>>;
  try {
    file = JSON.parse(content) as typeof file;
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (typeof file !== 'object' || file === null) return 'not a JSON object';
  if (file.format !== FORMAT) return `format is ${JSON.stringify(file.format)}, not ${FORMAT}`;
  if (file.domain !== domain) return `it is for ${JSON.stringify(file.domain)}, not ${domain}`;
  if (typeof file.id !== 'string' || !POLICY_ID.test(file.id)) return 'no valid id';
  const fetchedAt = new Date(typeof file.fetchedAt === 'string' ? file.fetchedAt : NaN);
  if (Number.isNaN(fetchedAt.getTime())) return 'no valid fetchedAt';
  if (typeof file.text !== 'string') return 'no policy text';
  const parsed = parseMtaStsPolicy(file.text);
  if (parsed.kind === 'invalid') return `its policy is invalid: ${parsed.reason}`;
  return { domain, id: file.id, fetchedAt, text: file.text, policy: parsed.policy };
}

/** The cache files of one folder; problems are logged here, never thrown: a cache that fails only costs a fetch. */
export class PolicyCache {
  private readonly files: ReplacedFiles;
  /** Per domain, the file (by inode, size and time) last warned about, so a damaged file is reported once. */
  private readonly warned = new Map<string, string>();

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.files = new ReplacedFiles(dir, () => this.removeLeftovers());
  }

  fileOf(domain: string): string {
    return join(this.dir, `${domain}.json`);
  }

  /** The cached policy of `domain` as the file holds it now, or undefined: no file, or one that cannot be used. */
  async read(domain: string): Promise<CachedPolicy | undefined> {
    const file = this.fileOf(domain);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.warnOnce(domain, `open:${code}`, { domain, file, err: (err as Error).message }, 'cannot read the MTA-STS cache file; the policy is fetched again');
      return undefined;
    }
    let content: string;
    let signature: string;
    try {
      const stat = await handle.stat();
      signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      content = await handle.readFile('utf8');
    } catch (err) {
      this.warnOnce(domain, 'read', { domain, file, err: (err as Error).message }, 'cannot read the MTA-STS cache file; the policy is fetched again');
      return undefined;
    } finally {
      await handle.close();
    }
    const decoded = decodeCacheFile(content, domain);
    if (typeof decoded !== 'string') return decoded;
    this.warnOnce(domain, signature, { domain, file, reason: decoded }, 'damaged MTA-STS cache file ignored; the policy is fetched again');
    return undefined;
  }

  /** Replaces the file of `entry.domain` atomically. A failure is logged: the policy still counts in memory. */
  async write(entry: CachedPolicy): Promise<void> {
    const file = this.fileOf(entry.domain);
    try {
      await this.files.replace(entry.domain, '.json', encode(entry));
      this.warned.delete(entry.domain);
    } catch (err) {
      this.logger.warn({ domain: entry.domain, file, err: (err as Error).message }, 'cannot write the MTA-STS cache file; the policy is kept in memory only');
    }
  }

  /**
   * Temporary files of writes a crash cut short, once per process. A younger one may be a
   * write another relay on the spool is making right now: the spool's own grace applies.
   */
  private async removeLeftovers(): Promise<void> {
    const now = Date.now();
    for (const name of (await readdir(this.dir)).filter((entry) => TMP_FILE.test(entry))) {
      const file = join(this.dir, name);
      const found = await lstat(file).catch(() => undefined);
      // gone meanwhile: its write was renamed into place
      if (!found || now - found.mtimeMs < LEFTOVER_GRACE_MS) continue;
      try {
        await rm(file, { force: true });
        this.logger.info({ file, reason: 'unfinished write' }, 'MTA-STS cache leftover removed');
      } catch (err) {
        this.logger.warn({ file, err: (err as Error).message }, 'MTA-STS cache leftover cannot be removed');
      }
    }
  }

  private warnOnce(domain: string, signature: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.get(domain) === signature) return;
    this.warned.set(domain, signature);
    this.logger.warn(fields, message);
  }
}
