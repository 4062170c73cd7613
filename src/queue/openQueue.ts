import type { QueueConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { MessageQueue } from './messageQueue.js';
import { Spool } from './spool.js';

/**
 * Opens the queue the config names, recovered and ready: the one place that knows which
 * stores there are, for the relay and for `tlsrelay queue …` alike. Rejects with a
 * message that says what is wrong with the store (its folder cannot be made or read).
 */
export function openQueue(config: QueueConfig, logger: Logger): Promise<MessageQueue> {
  return Spool.open(config.dir, logger);
}
