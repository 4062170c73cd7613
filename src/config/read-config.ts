import { isMap } from 'yaml';
import { describeNode, isNull, MapReader, type ReadContext } from './reader.js';
import { readTls } from './read-tls.js';
import { readListeners } from './read-listeners.js';
import { readInbound } from './read-inbound.js';
import { readOutbound } from './read-outbound.js';
import { readAuth } from './read-auth.js';
import { readAcceptedDomains, readAdmin, readDelivery, readDns, readLog, readQueue, readReport, readServer, readSmtp, readTlsRpt } from './read-sections.js';
import { keyNames } from './key-spec.js';
import { CONFIG_KEYS } from './keys.js';
import type { Config } from './types.js';

const ROOT_KEYS = keyNames(CONFIG_KEYS);

/**
 * The whole config from a parsed document, defaults applied. Problems go to ctx.issues;
 * the result is only meaningful when none were found. Sections that others depend on are
 * read first (tls before listeners, listeners before inbound, queue before outbound).
 * Undefined when the document is not a mapping: nothing else can be said about it.
 */
export function readConfig(ctx: ReadContext, file: string, systemHostname: string): Omit<Config, 'warnings'> | undefined {
  const contents = isNull(ctx.doc.contents) ? undefined : ctx.doc.contents ?? undefined;
  if (contents !== undefined && !isMap(contents)) {
    ctx.issues.add(contents, `expected a mapping of sections (${ROOT_KEYS.join(', ')}); got ${describeNode(contents)}`);
    return undefined;
  }
  const root = MapReader.open({ ctx, label: '' }, contents, ROOT_KEYS, undefined);
  const { tls, places, certificateConfigured, certificateNames } = readTls(root);
  const listeners = readListeners(root, certificateConfigured);
  const { queue, places: queuePlaces } = readQueue(root, ctx.dir);
  const dns = readDns(root);
  const server = readServer(root, systemHostname);
  const { outbound, places: outboundPlaces } = readOutbound(root, { certificateConfigured, certificateNames, queueMaxAge: queue.maxAge, dnssec: dns.dnssec });
  return {
    file,
    places: { ...places, ...queuePlaces, ...outboundPlaces },
    server,
    listeners,
    tls,
    dns,
    queue,
    delivery: readDelivery(root),
    smtp: readSmtp(root),
    auth: readAuth(root),
    acceptedDomains: readAcceptedDomains(root),
    // A bad listeners list was reported already; do not add "no TLS listener" on top.
    inbound: readInbound(root, root.isInvalid('listeners') || listeners.some((listener) => listener.tls !== 'none')),
    outbound,
    report: readReport(root),
    tlsRpt: readTlsRpt(root, server.hostname),
    admin: readAdmin(root),
    log: readLog(root),
  };
}
