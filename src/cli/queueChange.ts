import { setTimeout as delay } from 'node:timers/promises';
import { deletedRecipients } from '../queue/deletion.js';
import { describeHolder, LostLockError, type LockAttempt, type LockHolder, type MessageLock } from '../queue/messageLock.js';
import { queueDsn } from '../queue/queueBounce.js';
import type { Spool } from '../queue/spool.js';
import type { Envelope } from '../queue/types.js';
import type { CommandIo } from './args.js';
import { EXIT_BUSY, EXIT_NOT_DONE } from './queueExit.js';
import type { RetryTarget } from './queueRequest.js';
import { sender, waitsFor } from './queueText.js';

// Every change is made under the message's lock, on the envelope read afresh under it:
// the relay holds that lock from claiming a message until it has recorded the attempt,
// so a change never races a delivery, whether the relay runs or not. Afterwards the
// relay is told (Spool.announceChange) so that it acts on the change at once.

/** How long hold, release and delete wait for a delivery in progress. */
const LOCK_WAIT_MS = 30_000;
const LOCK_POLL_MS = 100;

/** What one change did: `gone` and `refused` are not done (exit 1), `busy` timed out waiting (exit 75). */
type Outcome = { kind: 'changed' | 'unchanged' | 'gone' | 'refused' | 'busy'; text: string };

type Io = Pick<CommandIo, 'stdout' | 'stderr'>;

/** `queue hold ID`: never delivered until released. */
export async function holdMessage(spool: Spool, id: string, io: Io): Promise<number> {
  const outcome = await changeMessage(spool, id, await lockWaiting(spool, id, io), async (envelope, lock) => {
    if (envelope.heldAt !== undefined) return { kind: 'unchanged', text: `${id} is already held (since ${envelope.heldAt})` };
    await spool.update({ ...envelope, heldAt: new Date().toISOString() }, lock);
    return { kind: 'changed', text: `${id} held: it is not delivered until released` };
  });
  return finish(spool, [outcome], io);
}

/** `queue release ID`: back on its retry schedule — due at once if its next attempt has passed. */
export async function releaseMessage(spool: Spool, id: string, io: Io): Promise<number> {
  const outcome = await changeMessage(spool, id, await lockWaiting(spool, id, io), async (envelope, lock) => {
    if (envelope.heldAt === undefined) return { kind: 'unchanged', text: `${id} is not held` };
    const { heldAt: _, ...released } = envelope;
    await spool.update(released, lock);
    const when = Date.parse(released.nextAttemptAt) <= Date.now() ? 'due now' : `next attempt ${released.nextAttemptAt}`;
    return { kind: 'changed', text: `${id} released: ${when}` };
  });
  return finish(spool, [outcome], io);
}

/** `queue retry ID|--all|--domain D`: due now. In bulk, held messages are left alone and said so. */
export async function retryMessages(spool: Spool, target: RetryTarget, io: Io): Promise<number> {
  if (target.kind === 'id') return finish(spool, [await retryOne(spool, target.id)], io);
  const ids = (await spool.list()).filter((envelope) => target.kind === 'all' || waitsFor(envelope, target.domain)).map((envelope) => envelope.id);
  const outcomes: Outcome[] = [];
  for (const id of ids) {
    const outcome = await retryOne(spool, id);
    // Delivered or deleted since the listing: nothing left to retry.
    if (outcome.kind === 'gone') continue;
    outcomes.push(outcome.kind === 'refused' ? { ...outcome, kind: 'unchanged' } : outcome);
  }
  if (outcomes.length === 0) io.stdout.write('no message to retry\n');
  return finish(spool, outcomes, io);
}

async function retryOne(spool: Spool, id: string): Promise<Outcome> {
  const attempt = await spool.lock(id);
  // The relay holds a message's lock while delivering it: that is the attempt asked for.
  if (attempt.kind === 'busy') return { kind: 'unchanged', text: `${id} is being delivered right now` };
  return changeMessage(spool, id, attempt, async (envelope, lock) => {
    if (envelope.heldAt !== undefined) return { kind: 'refused', text: `${id} is held: release it to deliver it` };
    await spool.update({ ...envelope, nextAttemptAt: new Date().toISOString() }, lock);
    return { kind: 'changed', text: `${id} will be attempted now` };
  });
}

/**
 * `queue delete ID [--silent]`: out of the queue, with a DSN "deleted by the administrator"
 * to the sender for the recipients still pending — stored before the message is removed,
 * as the relay does with its own bounces — unless --silent; never to the null sender.
 */
export async function deleteMessage(spool: Spool, id: string, silent: boolean, reportingMta: string, io: Io): Promise<number> {
  const outcome = await changeMessage(spool, id, await lockWaiting(spool, id, io), async (envelope, lock) => {
    const now = new Date();
    const failed = deletedRecipients(envelope, now);
    const bounce = silent ? undefined : await queueDsn(spool, envelope, lock, { action: 'failed', recipients: failed }, reportingMta, now);
    await spool.remove(id, lock);
    const note = bounce ? `bounce ${bounce.id} queued to ${sender(envelope.from)}` : `no bounce: ${whyNoBounce(envelope, failed.length, silent)}`;
    return { kind: 'changed', text: `${id} deleted; ${note}` };
  });
  return finish(spool, [outcome], io);
}

function whyNoBounce(envelope: Envelope, failed: number, silent: boolean): string {
  if (silent) return '--silent';
  if (envelope.from === '') return 'it is itself a bounce (null sender)';
  if (failed === 0) return 'no recipient was still pending';
  return 'the sender asked for no failure notice (NOTIFY)';
}

/**
 * Applies `change` to the message as it is now; the lock is released whatever happens. A
 * command stalled past the lock's stale age may have lost it to the relay: it changes
 * nothing then (see messageLock.ts).
 */
async function changeMessage(spool: Spool, id: string, attempt: LockAttempt, change: (envelope: Envelope, lock: MessageLock) => Promise<Outcome>): Promise<Outcome> {
  if (attempt.kind === 'busy') return { kind: 'busy', text: `${id} is still locked by ${holderText(attempt.holder)}; try again later` };
  try {
    const checked = await spool.check(id);
    switch (checked.kind) {
      case 'missing':
        return { kind: 'gone', text: `no message ${id} in the queue` };
      case 'quarantined':
        return { kind: 'refused', text: `${id} is damaged (${checked.problem}) and was moved to quarantine` };
      case 'found':
        return await change(checked.envelope, attempt.lock);
    }
  } catch (err) {
    if (err instanceof LostLockError) return { kind: 'busy', text: `${id} was not changed: ${err.message} while this command ran; try again` };
    throw err;
  } finally {
    await attempt.lock.release();
  }
}

/** Takes the message's lock, waiting while another process (the relay delivering it) holds it. */
async function lockWaiting(spool: Spool, id: string, io: Io): Promise<LockAttempt> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let attempt = await spool.lock(id);
  if (attempt.kind === 'busy') io.stderr.write(`${id} is locked by ${holderText(attempt.holder)} (a delivery in progress?); waiting for it\n`);
  while (attempt.kind === 'busy' && Date.now() < deadline) {
    await delay(LOCK_POLL_MS);
    attempt = await spool.lock(id);
  }
  return attempt;
}

function holderText(holder: LockHolder | undefined): string {
  return holder ? describeHolder(holder) : 'another process';
}

async function finish(spool: Spool, outcomes: Outcome[], io: Io): Promise<number> {
  for (const { kind, text } of outcomes) (kind === 'changed' || kind === 'unchanged' ? io.stdout : io.stderr).write(`${text}\n`);
  if (outcomes.some((outcome) => outcome.kind === 'changed')) await spool.announceChange();
  if (outcomes.some((outcome) => outcome.kind === 'busy')) return EXIT_BUSY;
  if (outcomes.some((outcome) => outcome.kind === 'gone' || outcome.kind === 'refused')) return EXIT_NOT_DONE;
  return 0;
}
