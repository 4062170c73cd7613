import { ensureDevCertificate } from '../tls/devCertificate.js';
import { loadTlsMaterial } from '../tls/material.js';
import { createLogger, type Logger } from '../log.js';
import { Spool } from '../queue/spool.js';
import { DeliveryAgent } from '../outbound/agent.js';
import { startListeners } from '../inbound/listeners.js';
import type { Config } from '../config/types.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadOrExplain.js';

async function prepareCertificates(config: Config, logger: Logger): Promise<void> {
  const { cert, key, generateIfMissing } = config.tls;
  if (generateIfMissing && cert !== undefined && key !== undefined) {
    await ensureDevCertificate(cert, key, config.server.hostname, logger);
  }
}

/**
 * `tlsrelay start`: validate everything, then open the spool, start delivery and only
 * then listen — a config or certificate problem exits 2 before any port is bound.
 */
export async function startCommand(file: string, stderr: NodeJS.WritableStream): Promise<number> {
  const config = loadConfigOrReport(file, stderr);
  if (!config) return EXIT_INVALID_CONFIG;
  const logger = createLogger(config.log.level);

  let tls;
  try {
    await prepareCertificates(config, logger);
    tls = loadTlsMaterial(config);
  } catch (err) {
    stderr.write(`${file}: ${(err as Error).message}\n`);
    return EXIT_INVALID_CONFIG;
  }

  // Signals are watched from here on, so a SIGTERM during start-up is a clean stop too.
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });

  const spool = await Spool.open(config.queue.dir, logger);
  const context = { config, tls, logger };
  const agent = new DeliveryAgent(spool, () => context, logger);
  const inbound = await startListeners(config, tls, {
    config,
    store: spool,
    logger,
    onAccepted: (envelope) => agent.enqueue(envelope),
  });
  await agent.start();
  logger.info({ config: config.file, spool: config.queue.dir, hostname: config.server.hostname }, 'tlsrelay started');

  const signal = await stopRequested;
  logger.info({ signal }, 'shutting down');
  await Promise.all([inbound.close(), agent.stop()]);
  logger.info('tlsrelay stopped');
  return 0;
}
