import { createLogger } from '../log.js';
import { Spool } from '../queue/spool.js';
import { parseCommandArgs, type CommandIo } from './args.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';
import { deleteMessage, holdMessage, releaseMessage, retryMessages } from './queueChange.js';
import { EXIT_NOT_DONE } from './queueExit.js';
import { listQueue } from './queueList.js';
import { parseQueueRequest, QUEUE_OPTIONS } from './queueRequest.js';
import { showMessage } from './queueShow.js';

/**
 * `tlsrelay queue list|show|retry|delete|hold|release`: works on the spool of the config,
 * whether the relay runs or not (see queueChange.ts for how changes and deliveries keep
 * apart). Arguments are checked first, so a malformed ID is a usage error (64).
 */
export async function queueCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals, values, configOption } = parseCommandArgs(args, QUEUE_OPTIONS);
  const request = parseQueueRequest(positionals, values);
  const loaded = await loadConfigOrReport(configOption, io.stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { config } = loaded;
  // What the spool logs (a damaged entry quarantined) goes to stderr: stdout is the answer.
  const logger = createLogger(config.log.level, io.stderr);
  let spool: Spool;
  try {
    spool = await Spool.open(config.queue.dir, logger);
  } catch (err) {
    io.stderr.write(`tlsrelay queue: ${(err as Error).message}\n`);
    return EXIT_NOT_DONE;
  }
  switch (request.action) {
    case 'list':
      return listQueue(spool, request.domain, request.json, io.stdout);
    case 'show':
      return showMessage(spool, request.id, request.json, io);
    case 'retry':
      return retryMessages(spool, request.target, io);
    case 'delete':
      return deleteMessage(spool, request.id, request.silent, config.server.hostname, io);
    case 'hold':
      return holdMessage(spool, request.id, io);
    case 'release':
      return releaseMessage(spool, request.id, io);
  }
}
