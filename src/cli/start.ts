import { networkInterfaces } from 'node:os';
import { Readable } from 'node:stream';
import { ensureDevCertificate } from '../tls/devCertificate.js';
import { datedNow, type ServedCertificate, type TlsMaterial } from '../tls/material.js';
import { CertificateRotation, logSwapped } from '../tls/certificateRotation.js';
import { fetchOcspResponse } from '../tls/ocsp/ocspFetch.js';
import { OcspStapler } from '../tls/stapling/ocspStapler.js';
import { createLogger, LogOutput, logFormatFor, type Logger } from '../log.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import { openQueue } from '../queue/openQueue.js';
import { DeliveryAgent } from '../outbound/agent.js';
import { ConnectionSlots } from '../outbound/connectionSlots.js';
import { HostBackoff } from '../outbound/hostBackoff.js';
import { MtaStsSource, mtaStsCacheDir } from '../outbound/mtaSts/source.js';
import { dnsLookupsFor } from '../outbound/resolver.js';
import type { DeliveryContext } from '../outbound/types.js';
import type { OwnListener } from '../outbound/loopDetection.js';
import { SessionCache } from '../outbound/sessionCache.js';
import { TlsRptScheduler } from '../tlsRpt/scheduler.js';
import { TransitWriter } from '../transit/writer.js';
import { startListeners } from '../inbound/listeners.js';
import { ocspCacheDir, StapleFiles } from '../inbound/stapleFiles.js';
import { SHUTDOWN_GRACE_MS } from '../inbound/shutdownGrace.js';
import type { Config } from '../config/types.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport, tryLoadConfig } from './loadConfigFile.js';
import type { Dated } from '../tls/dated.js';
import { OcspCache } from '../tls/ocsp/ocspCache.js';
import { ExpiryWatch } from './expiryWatch.js';
import { logConfigWarnings, tlsProblemOf, tryLoadTls, type TlsLoad } from './loadOrExplain.js';
import { startAdminServer, type AdminServer } from '../admin/adminServer.js';
import { adminSources, countedTransit, metricsFor } from './adminListener.js';

/** Makes the development pair if asked to, then reads and checks the certificate files. */
async function prepareTls(file: string, config: Config, logger: Logger): Promise<TlsLoad> {
  const { cert, key, generateIfMissing } = config.tls;
  try {
    if (generateIfMissing && cert !== undefined && key !== undefined) await ensureDevCertificate(config, cert, key, logger);
  } catch (err) {
    return { ok: false, problem: tlsProblemOf(err, file) };
  }
  const tls = tryLoadTls(file, config);
  if (tls.ok) logConfigWarnings(logger, config);
  return tls;
}

/**
 * What the expiry watch looks at under one snapshot of the certificates (a replaced file
 * makes another, judged anew); the connectors' CRLs are read again at each check.
 */
const datedUnder =
  (config: Config, certificates: readonly ServedCertificate[], trustDated: Dated[]): (() => Dated[]) =>
  () => datedNow(config, certificates, trustDated);

/** The certificates whose OCSP responses the listeners staple: all of them (those that name a responder count), or none. */
function stapled(config: Config, certificates: readonly ServedCertificate[]): readonly ServedCertificate[] {
  return config.tls.ocspStapling ? certificates : [];
}

/** Where the admin listener listens, if it does: changes only with a restart (its password follows a reload). */
function sameAdminPlace(a: Config, b: Config): boolean {
  return a.admin?.address === b.admin?.address && a.admin?.port === b.admin?.port;
}

/** A listener could not bind its address and port (in use, or a privileged port). */
const EXIT_CANNOT_LISTEN = 1;

/**
 * Deliveries in flight may finish within the grace period; after it the process exits
 * anyway — an unfinished delivery is still in the spool and is simply tried again.
 */
async function stopDeliveries(agent: DeliveryAgent, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), SHUTDOWN_GRACE_MS);
  });
  const result = await Promise.race([agent.stop(), gaveUp]);
  clearTimeout(timer);
  if (result === 'timeout') logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'deliveries still in flight at shutdown stay queued and are retried after the restart');
}

/**
 * SIGHUP: the whole config and its certificates are loaded and checked again; anything
 * wrong is logged and the running configuration keeps serving.
 */
async function reload(file: string, running: Config, logger: Logger): Promise<{ config: Config; tls: TlsMaterial; trustDated: Dated[] } | undefined> {
  const loaded = await tryLoadConfig(file);
  if (!loaded.ok) {
    logger.error({ config: running.file, errors: loaded.problems }, 'configuration reload refused; the running configuration stays');
    return undefined;
  }
  const { config } = loaded;
  const tls = await prepareTls(file, config, logger);
  if (!tls.ok) {
    logger.error({ config: running.file, errors: [tls.problem] }, 'configuration reload refused; the running configuration stays');
    return undefined;
  }
  return { config, tls: tls.material, trustDated: tls.trustDated };
}

/**
 * `tlsrelay start`: validate everything, then open the queue, start delivery and only
 * then listen — a config or certificate problem exits 2 before any port is bound.
 */
export async function startCommand(configOption: string | undefined, stderr: NodeJS.WritableStream): Promise<number> {
  const loaded = await loadConfigOrReport(configOption, stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { file, config } = loaded;
  // a terminal is judged once: a reload cannot change where stdout goes
  const terminal = process.stdout.isTTY === true;
  const output = new LogOutput(logFormatFor(config.log.format, terminal), { terminal, colorize: terminal && !process.env.NO_COLOR });
  const logger = createLogger(config.log.level, output);

  const loadedTls = await prepareTls(file, config, logger);
  if (!loadedTls.ok) {
    stderr.write(`${loadedTls.problem}\n`);
    return EXIT_INVALID_CONFIG;
  }
  const tls = loadedTls.material;
  const expiry = new ExpiryWatch(logger);
  let { trustDated } = loadedTls;
  // the expiry watch's and the metrics' view of what runs out: one, replaced together
  let dated = datedUnder(config, tls.certificates, trustDated);
  const watchDated = (next: () => Dated[]): void => {
    dated = next;
    expiry.watch(next);
  };
  watchDated(dated);

  // Signals are watched from here on, so a SIGTERM during start-up is a clean stop too,
  // and a SIGHUP (whose default is to terminate) is ignored until there is something to reload.
  // Watched for good, not once: a second SIGTERM or SIGINT must not cut the drain short —
  // Ctrl-C on `npm start` reaches npm and the relay both, and npm passes its copy on.
  let shuttingDown = false;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.on('SIGTERM', resolve);
    process.on('SIGINT', resolve);
  });
  let applyReload: () => void = () => logger.warn('SIGHUP during start-up ignored');
  process.on('SIGHUP', () => applyReload());

  let queue: MessageQueue;
  try {
    queue = await openQueue(config.queue, logger);
  } catch (err) {
    // a folder the relay's user cannot write (a volume, a missing ReadWritePaths=), a database that cannot be
    // reached or refuses: one line, as for a config error (pg's messages do not repeat the URL's password)
    const key = config.queue.postgres ? 'queue.postgres.url' : 'queue.dir';
    stderr.write(`${config.places[key] ?? file}: ${key}: ${(err as Error).message}\n`);
    return EXIT_INVALID_CONFIG;
  }
  const transit = await TransitWriter.open(config.queue.dir, logger, config.report.retention);
  // read only when scraped, by then the agent exists
  const metrics = metricsFor(config, () => agent.queued(), () => dated());
  // filled once the listeners are bound: their ports are known only then (a configured 0)
  const ownListeners: OwnListener[] = [];
  // one MTA-STS cache for the process; each lookup reads the DNS servers and trust anchors of the current snapshot
  const mtaSts = new MtaStsSource({ cacheDir: mtaStsCacheDir(config.queue.dir), logger, environment: () => ({ lookups: dnsLookupsFor(context.config), trust: context.tls }) });
  // one for the process: partners' answers outbound and clients' inbound, kept until their nextUpdate
  const ocspAnswers = new OcspCache();
  let context: DeliveryContext = { config, tls, logger, backoff: new HostBackoff(), slots: new ConnectionSlots(), sessions: new SessionCache(), ocspAnswers, thisHost: { listeners: ownListeners, interfaces: networkInterfaces }, transit: countedTransit(transit, metrics), mtaSts, observer: metrics };
  const agent = new DeliveryAgent(queue, () => context, logger);
  // staples read back from disk before the listeners open: a restart staples at once
  const stapler = new OcspStapler({ files: new StapleFiles(ocspCacheDir(config.queue.dir), logger), logger, fetch: fetchOcspResponse });
  await stapler.serve(stapled(config, tls.certificates));
  let inbound;
  try {
    inbound = await startListeners(config, tls, {
      config,
      store: queue,
      logger,
      onAccepted: (envelope) => agent.enqueue(envelope),
      observer: metrics,
      ocspAnswers,
      staples: (certificate) => stapler.stapleFor(certificate),
    });
  } catch (err) {
    // a port in use or one that needs privileges: said once, plainly, and nothing runs
    logger.fatal({ err: (err as Error).message }, 'cannot start the listeners');
    stderr.write(`tlsrelay: ${(err as Error).message}\n`);
    await Promise.all([transit.close(), queue.close()]);
    return EXIT_CANNOT_LISTEN;
  }
  ownListeners.push(...inbound.listeners.map(({ name, address, port }) => ({ name, address, port })));
  let admin: AdminServer | undefined;
  if (config.admin !== undefined && metrics !== undefined) {
    const running = { config: () => context.config, spoolDir: config.queue.dir, queueProblem: () => queue.unreachable(), listeners: inbound.listeners, shuttingDown: () => shuttingDown };
    try {
      admin = await startAdminServer(config.admin.address, config.admin.port, adminSources(running, metrics, { config: running.config, queue: () => agent.queued(), dated: () => dated() }), logger);
    } catch (err) {
      logger.fatal({ err: (err as Error).message }, 'cannot start the admin listener');
      stderr.write(`tlsrelay: ${(err as Error).message}\n`);
      await inbound.close();
      await Promise.all([transit.close(), queue.close()]);
      return EXIT_CANNOT_LISTEN;
    }
  }
  await agent.start();
  // off the delivery path: it reads the transit record and queues its mail like any client
  const tlsRpt = new TlsRptScheduler({
    config: () => context.config,
    lookups: () => dnsLookupsFor(context.config),
    ca: () => context.tls.ca,
    queue: async (message, data) => agent.enqueue(await queue.store(message, Readable.from([data]))),
    logger,
  });
  tlsRpt.start();
  // a replaced certificate file: only the certificates change, for new sessions and deliveries
  const rotation = new CertificateRotation(logger, (certificates) => {
    const next = { ...context.tls, certificates };
    logSwapped(logger, context.tls.certificates, certificates);
    inbound.reload(context.config, next);
    void stapler.serve(stapled(context.config, certificates));
    context = { ...context, tls: next };
    watchDated(datedUnder(context.config, certificates, trustDated));
  });
  rotation.follow(config, tls.certificates);
  applyReload = () => {
    void reload(file, context.config, logger).then((next) => {
      if (!next) return;
      const needRestart = inbound.reload(next.config, next.tls);
      if (next.config.queue.dir !== context.config.queue.dir) needRestart.push('queue.dir changed');
      if (next.config.queue.store !== context.config.queue.store) needRestart.push('queue.store changed');
      if (!sameAdminPlace(next.config, context.config)) needRestart.push('admin.address or admin.port changed, or the admin section added or removed');
      logSwapped(logger, context.tls.certificates, next.tls.certificates);
      rotation.follow(next.config, next.tls.certificates);
      void stapler.serve(stapled(next.config, next.tls.certificates));
      context = { ...context, config: next.config, tls: next.tls };
      trustDated = next.trustDated;
      watchDated(datedUnder(next.config, next.tls.certificates, trustDated));
      transit.retainFor(next.config.report.retention);
      logger.level = next.config.log.level;
      output.format = logFormatFor(next.config.log.format, terminal);
      if (needRestart.length > 0) logger.warn({ needRestart }, 'configuration reloaded; some changes take effect only after a restart');
      else logger.info({ config: next.config.file }, 'configuration reloaded');
    });
  };
  logger.info({ config: config.file, spool: config.queue.dir, hostname: config.server.hostname }, 'tlsrelay started');

  const signal = await stopRequested;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down');
  tlsRpt.stop();
  rotation.close();
  stapler.close();
  expiry.stop();
  await Promise.all([inbound.close(), stopDeliveries(agent, logger).then(() => context.sessions.closeAll())]);
  // after the deliveries: their sessions' records are the last batch, and their claims
  // are let go (those of deliveries still in flight past the grace period too)
  await Promise.all([transit.close(), queue.close()]);
  // the last to go: until now /readyz said "shutting down" to the probes that ask
  await admin?.close();
  logger.info('tlsrelay stopped');
  return 0;
}
