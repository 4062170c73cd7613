import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export type Readiness = { ready: true } | { ready: false; reason: string };

/** What /readyz asks of the running relay. */
export interface ReadinessFacts {
  shuttingDown: boolean;
  /** Names of configured listeners that are not bound. */
  listenersDown: string[];
  /** Undefined when a file could be written and synced in the spool, else why not. */
  spoolProblem: string | undefined;
  /** Undefined when the queue's store answers (the shared queue's database), else why not. */
  queueProblem: string | undefined;
}

export function readiness({ shuttingDown, listenersDown, spoolProblem, queueProblem }: ReadinessFacts): Readiness {
  if (shuttingDown) return { ready: false, reason: 'shutting down' };
  if (listenersDown.length > 0) return { ready: false, reason: `listeners not up: ${listenersDown.join(', ')}` };
  if (spoolProblem !== undefined) return { ready: false, reason: `spool not writable: ${spoolProblem}` };
  if (queueProblem !== undefined) return { ready: false, reason: `queue not reachable: ${queueProblem}` };
  return { ready: true };
}

/**
 * Writes, syncs and removes one small file in the spool folder: a read-only mount or a full
 * disk shows here, where a permission check would not (root passes every mode check).
 */
export async function spoolWriteProblem(dir: string): Promise<string | undefined> {
  const probe = join(dir, `.readyz-${process.pid}`);
  try {
    const file = await open(probe, 'w');
    try {
      await file.write('ready\n');
      await file.sync();
    } finally {
      await file.close();
    }
    await unlink(probe);
    return undefined;
  } catch (err) {
    await unlink(probe).catch(() => undefined);
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
