// Waiting for a state that no event announces: a folder's contents, a file's age.
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `condition` holds, looking every `everyMs`; tap's per-file timeout is the guard. */
export async function until(condition: () => boolean | Promise<boolean>, everyMs = 50): Promise<void> {
  while (!(await condition())) await sleep(everyMs);
}
