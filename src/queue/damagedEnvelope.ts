import type { Logger } from '../log.js';
import type { MessageQueue } from './messageQueue.js';

/**
 * A damaged envelope that list() came across: checked (and so quarantined) under its
 * claim, unless another process holds it — then it is only skipped, as its holder may be
 * writing it right now.
 */
export async function quarantineUnlessClaimed(queue: MessageQueue, id: string, problem: string, logger: Logger): Promise<void> {
  const attempt = await queue.claim(id);
  if (attempt.kind === 'busy') {
    logger.warn({ queueId: id, reason: problem }, 'damaged envelope skipped while another process holds it');
    return;
  }
  try {
    await queue.check(id);
  } finally {
    await attempt.claim.release();
  }
}
