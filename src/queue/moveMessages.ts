import type { Logger } from '../log.js';
import type { MessageQueue } from './messageQueue.js';

export interface MoveCount {
  moved: number;
  /** Left where they were because another process holds them: moved at a later try. */
  busy: number;
  /** Left where they were because the move failed (logged): tried again later too. */
  failed: number;
}

/**
 * Moves every message of `from` into `to`, each under its claim in `from`: copied as it is
 * (adopt: same ID and envelope, durable), then removed from `from`. A crash in between
 * leaves it in both, and the next move only removes it from `from` (adopt finds it there);
 * nothing is lost, and nothing is delivered from both, since only one store is read.
 */
export async function moveMessages(from: MessageQueue, to: MessageQueue, logger: Logger): Promise<MoveCount> {
  const count: MoveCount = { moved: 0, busy: 0, failed: 0 };
  for (const { id } of await from.list()) {
    const attempt = await from.claim(id);
    if (attempt.kind === 'busy') {
      count.busy++;
      continue;
    }
    try {
      const checked = await from.check(id);
      if (checked.kind !== 'found') continue;
      await to.adopt(checked.envelope, from.openData(id));
      await from.remove(id, attempt.claim);
      count.moved++;
    } catch (err) {
      count.failed++;
      logger.error({ queueId: id, err: (err as Error).message }, 'cannot move a message from the other queue store; it stays there and is tried again later');
    } finally {
      await attempt.claim.release();
    }
  }
  return count;
}
