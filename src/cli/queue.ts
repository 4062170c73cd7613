import { createLogger } from '../log.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import { openQueue } from '../queue/openQueue.js';
import { parseCommandArgs, type CommandIo } from './args.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';
import { deleteMessage, holdMessage, releaseMessage, retryMessages } from './queueChange.js';
import { EXIT_NOT_DONE } from './queueExit.js';
import { listQueue } from './queueList.js';
import { parseQueueRequest, QUEUE_OPTIONS, type QueueRequest } from './queueRequest.js';
import { showMessage } from './queueShow.js';

/**
 * `tlsrelay queue list|show|retry|delete|hold|release`: works on the queue of the config,
 * whether the relay runs or not (see queueChange.ts for how changes and deliveries keep
 * apart). Arguments are checked first, so a malformed ID is a usage error (64).
 */
export async function queueCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals, values, configOption } = parseCommandArgs(args, QUEUE_OPTIONS);
  const request = parseQueueRequest(positionals, values);
  const loaded = await loadConfigOrReport(configOption, io.stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { config } = loaded;
  // What the queue logs (a damaged entry quarantined) goes to stderr: stdout is the answer.
  const logger = createLogger(config.log.level, io.stderr);
  let queue: MessageQueue;
  try {
    queue = await openQueue(config.queue, logger);
  } catch (err) {
    io.stderr.write(`tlsrelay queue: ${(err as Error).message}\n`);
    return EXIT_NOT_DONE;
  }
  try {
    return await runQueueAction(queue, request, config.server.hostname, io);
  } finally {
    await queue.close();
  }
}

function runQueueAction(queue: MessageQueue, request: QueueRequest, reportingMta: string, io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  switch (request.action) {
    case 'list':
      return listQueue(queue, request.domain, request.json, io.stdout);
    case 'show':
      return showMessage(queue, request.id, request.json, io);
    case 'retry':
      return retryMessages(queue, request.target, io);
    case 'delete':
      return deleteMessage(queue, request.id, request.silent, reportingMta, io);
    case 'hold':
      return holdMessage(queue, request.id, io);
    case 'release':
      return releaseMessage(queue, request.id, io);
  }
}
