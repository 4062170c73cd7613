import { setTimeout as delay } from 'node:timers/promises';
import { deletedRecipients } from '../queue/deletion.js';
import { describeHolder, LostClaimError, type ClaimAttempt, type ClaimHolder, type MessageQueue, type QueueClaim } from '../queue/messageQueue.js';
import { queueDsn } from '../queue/queueBounce.js';
import type { Envelope } from '../queue/types.js';
import type { CommandIo } from './args.js';
import { EXIT_BUSY, EXIT_NOT_DONE } from './queueExit.js';
import type { RetryTarget } from './queueRequest.js';
import { sender, waitsFor } from './queueText.js';

// Every change is made under the message's claim, on the envelope read afresh under it:
// the relay holds that claim from taking a message until it has recorded the attempt,
// so a change never races a delivery, whether the relay runs or not. Afterwards the
// relay is told (MessageQueue.announceChange) so that it acts on the change at once.

/** How long hold, release and delete wait for a delivery in progress. */
const CLAIM_WAIT_MS = 30_000;
const CLAIM_POLL_MS = 100;

/** What one change did: `gone` and `refused` are not done (exit 1), `busy` timed out waiting (exit 75). */
type Outcome = { kind: 'changed' | 'unchanged' | 'gone' | 'refused' | 'busy'; text: string };

type Io = Pick<CommandIo, 'stdout' | 'stderr'>;

/** `queue hold ID`: never delivered until released. */
export async function holdMessage(queue: MessageQueue, id: string, io: Io): Promise<number> {
  const outcome = await changeMessage(queue, id, await claimWaiting(queue, id, io), async (envelope, claim) => {
    if (envelope.heldAt !== undefined) return { kind: 'unchanged', text: `${id} is already held (since ${envelope.heldAt})` };
    await queue.update({ ...envelope, heldAt: new Date().toISOString() }, claim);
    return { kind: 'changed', text: `${id} held: it is not delivered until released` };
  });
  return finish(queue, [outcome], io);
}

/** `queue release ID`: back on its retry schedule — due at once if its next attempt has passed. */
export async function releaseMessage(queue: MessageQueue, id: string, io: Io): Promise<number> {
  const outcome = await changeMessage(queue, id, await claimWaiting(queue, id, io), async (envelope, claim) => {
    if (envelope.heldAt === undefined) return { kind: 'unchanged', text: `${id} is not held` };
    const { heldAt: _, ...released } = envelope;
    await queue.update(released, claim);
    const when = Date.parse(released.nextAttemptAt) <= Date.now() ? 'due now' : `next attempt ${released.nextAttemptAt}`;
    return { kind: 'changed', text: `${id} released: ${when}` };
  });
  return finish(queue, [outcome], io);
}

/** `queue retry ID|--all|--domain D`: due now. In bulk, held messages are left alone and said so. */
export async function retryMessages(queue: MessageQueue, target: RetryTarget, io: Io): Promise<number> {
  if (target.kind === 'id') return finish(queue, [await retryOne(queue, target.id)], io);
  const ids = (await queue.list()).filter((envelope) => target.kind === 'all' || waitsFor(envelope, target.domain)).map((envelope) => envelope.id);
  const outcomes: Outcome[] = [];
  for (const id of ids) {
    const outcome = await retryOne(queue, id);
    // Delivered or deleted since the listing: nothing left to retry.
    if (outcome.kind === 'gone') continue;
    outcomes.push(outcome.kind === 'refused' ? { ...outcome, kind: 'unchanged' } : outcome);
  }
  if (outcomes.length === 0) io.stdout.write('no message to retry\n');
  return finish(queue, outcomes, io);
}

async function retryOne(queue: MessageQueue, id: string): Promise<Outcome> {
  const attempt = await queue.claim(id);
  if (attempt.kind === 'busy') {
    // A claim names an ID, not a message: another command may hold the claim of one that is not queued.
    if ((await queue.read(id)) === undefined) return missing(id);
    // The relay holds a message's claim while delivering it: that is the attempt asked for.
    return { kind: 'unchanged', text: `${id} is being delivered right now` };
  }
  return changeMessage(queue, id, attempt, async (envelope, claim) => {
    if (envelope.heldAt !== undefined) return { kind: 'refused', text: `${id} is held: release it to deliver it` };
    await queue.update({ ...envelope, nextAttemptAt: new Date().toISOString() }, claim);
    return { kind: 'changed', text: `${id} will be attempted now` };
  });
}

/**
 * `queue delete ID [--silent]`: out of the queue, with a DSN "deleted by the administrator"
 * to the sender for the recipients still pending — stored before the message is removed,
 * as the relay does with its own bounces — unless --silent; never to the null sender.
 */
export async function deleteMessage(queue: MessageQueue, id: string, silent: boolean, reportingMta: string, io: Io): Promise<number> {
  const outcome = await changeMessage(queue, id, await claimWaiting(queue, id, io), async (envelope, claim) => {
    const now = new Date();
    const failed = deletedRecipients(envelope, now);
    const bounce = silent ? undefined : await queueDsn(queue, envelope, claim, { action: 'failed', recipients: failed }, reportingMta, now);
    await queue.remove(id, claim);
    const note = bounce ? `bounce ${bounce.id} queued to ${sender(envelope.from)}` : `no bounce: ${whyNoBounce(envelope, failed.length, silent)}`;
    return { kind: 'changed', text: `${id} deleted; ${note}` };
  });
  return finish(queue, [outcome], io);
}

function whyNoBounce(envelope: Envelope, failed: number, silent: boolean): string {
  if (silent) return '--silent';
  if (envelope.from === '') return 'it is itself a bounce (null sender)';
  if (failed === 0) return 'no recipient was still pending';
  return 'the sender asked for no failure notice (NOTIFY)';
}

/**
 * Applies `change` to the message as it is now; the claim is released whatever happens. A
 * command stalled past the claim's stale age may have lost it to the relay: it changes
 * nothing then (LostClaimError).
 */
async function changeMessage(queue: MessageQueue, id: string, attempt: ClaimAttempt | NoMessage, change: (envelope: Envelope, claim: QueueClaim) => Promise<Outcome>): Promise<Outcome> {
  if (attempt.kind === 'no-message') return missing(id);
  if (attempt.kind === 'busy') return { kind: 'busy', text: `${id} is still claimed by ${holderText(attempt.holder)}; try again later` };
  try {
    const checked = await queue.check(id);
    switch (checked.kind) {
      case 'missing':
        return missing(id);
      case 'quarantined':
        return { kind: 'refused', text: `${id} is damaged (${checked.problem}) and was moved to quarantine` };
      case 'found':
        return await change(checked.envelope, attempt.claim);
    }
  } catch (err) {
    if (err instanceof LostClaimError) return { kind: 'busy', text: `${id} was not changed: ${err.message} while this command ran; try again` };
    throw err;
  } finally {
    await attempt.claim.release();
  }
}

/** A claim held on an ID that names no message (another command's): nothing to wait for. */
type NoMessage = { kind: 'no-message' };

/**
 * Claims the message, waiting while another process (the relay delivering it) holds it —
 * unless no such message is queued: a claim names an ID, and another command may hold the
 * claim of one that is not there.
 */
async function claimWaiting(queue: MessageQueue, id: string, io: Io): Promise<ClaimAttempt | NoMessage> {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  let attempt = await queue.claim(id);
  if (attempt.kind === 'busy') {
    if ((await queue.read(id)) === undefined) return { kind: 'no-message' };
    io.stderr.write(`${id} is claimed by ${holderText(attempt.holder)} (a delivery in progress?); waiting for it\n`);
  }
  while (attempt.kind === 'busy' && Date.now() < deadline) {
    await delay(CLAIM_POLL_MS);
    attempt = await queue.claim(id);
    // delivered (and removed) while this command waited: then there is nothing to change
    if (attempt.kind === 'busy' && (await queue.read(id)) === undefined) return { kind: 'no-message' };
  }
  return attempt;
}

function missing(id: string): Outcome {
  return { kind: 'gone', text: `no message ${id} in the queue` };
}

function holderText(holder: ClaimHolder | undefined): string {
  return holder ? describeHolder(holder) : 'another process';
}

async function finish(queue: MessageQueue, outcomes: Outcome[], io: Io): Promise<number> {
  for (const { kind, text } of outcomes) (kind === 'changed' || kind === 'unchanged' ? io.stdout : io.stderr).write(`${text}\n`);
  if (outcomes.some((outcome) => outcome.kind === 'changed')) await queue.announceChange();
  if (outcomes.some((outcome) => outcome.kind === 'busy')) return EXIT_BUSY;
  if (outcomes.some((outcome) => outcome.kind === 'gone' || outcome.kind === 'refused')) return EXIT_NOT_DONE;
  return 0;
}
