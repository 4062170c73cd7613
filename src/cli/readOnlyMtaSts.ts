import type { Config } from '../config/types.js';
import { createLogger, LogOutput } from '../log.js';
import type { FetchTrust } from '../outbound/mtaSts/fetchPolicy.js';
import { MtaStsSource, mtaStsCacheDir } from '../outbound/mtaSts/source.js';
import { dnsLookupsFor } from '../outbound/resolver.js';

// The MTA-STS source of a command that looks (`policy explain --lookup`, `tls probe`): the
// delivery's own source, over the config's dns.servers, reading the running relay's cache
// under the spool but never writing it — a policy fetched here is not stored.

/** The source, and the cache folder it reads. `stderr` gets its warnings (a cache file that cannot be read, a failed fetch). */
export function readOnlyMtaSts(config: Config, trust: FetchTrust, stderr: NodeJS.WritableStream): { source: MtaStsSource; cacheDir: string } {
  const lookups = dnsLookupsFor(config);
  const logger = createLogger('warn', new LogOutput('pretty', { out: { write: (line: string) => stderr.write(line) } }));
  const cacheDir = mtaStsCacheDir(config.queue.dir);
  return { source: new MtaStsSource({ cacheDir, logger, environment: () => ({ lookups, trust }), cacheAccess: 'read-only' }), cacheDir };
}
