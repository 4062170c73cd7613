import type { MessageQueue } from '../queue/messageQueue.js';
import { durationText } from '../config/duration.js';
import { sender, summarize, waitsFor, type MessageSummary } from './queueText.js';

/** Pending recipients shown on a line; the rest are counted. */
const RECIPIENTS_SHOWN = 3;

/** `tlsrelay queue list [--domain D] [--json]`: one line per message, oldest first. */
export async function listQueue(queue: MessageQueue, domain: string | undefined, json: boolean, stdout: NodeJS.WritableStream): Promise<number> {
  const now = Date.now();
  const envelopes = (await queue.list()).filter((envelope) => domain === undefined || waitsFor(envelope, domain));
  const summaries = envelopes.map((envelope) => summarize(envelope, now));
  if (json) {
    stdout.write(`${JSON.stringify({ messages: summaries }, null, 2)}\n`);
    return 0;
  }
  if (summaries.length === 0) stdout.write(domain === undefined ? 'the queue is empty\n' : `no queued message waits for ${domain}\n`);
  for (const summary of summaries) stdout.write(`${listLine(summary)}\n`);
  return 0;
}

/** e.g. `0190…  3m  deferred  2 attempts  <a@client.test> -> bob@b.test  last error: 451 4.4.1 …` */
function listLine(summary: MessageSummary): string {
  const pending = summary.recipients.filter((recipient) => recipient.state === 'pending').map((recipient) => recipient.address);
  const shown = pending.slice(0, RECIPIENTS_SHOWN).join(', ') + (pending.length > RECIPIENTS_SHOWN ? ` +${pending.length - RECIPIENTS_SHOWN} more` : '');
  const attempts = `${summary.attempts} attempt${summary.attempts === 1 ? '' : 's'}`;
  const fields = [summary.id, durationText(summary.ageSeconds * 1000), summary.state, attempts, `${sender(summary.from)} -> ${shown}`];
  if (summary.lastError !== null) fields.push(`last error: ${summary.lastError}`);
  return fields.join('  ');
}
