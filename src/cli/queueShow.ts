import { messageState } from '../queue/messageState.js';
import type { MessageQueue } from '../queue/messageQueue.js';
import type { AttemptRecord, Envelope, QueuedRecipient } from '../queue/types.js';
import type { CommandIo } from './args.js';
import { EXIT_NOT_DONE } from './queueExit.js';
import { durationText } from '../config/duration.js';
import { sender, stateText } from './queueText.js';

/** `tlsrelay queue show ID [--json]`: the envelope, every attempt with its TLS facts, each recipient's last error. */
export async function showMessage(queue: MessageQueue, id: string, json: boolean, io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  let envelope: Envelope | undefined;
  try {
    envelope = await queue.read(id);
  } catch (err) {
    io.stderr.write(`tlsrelay queue show: ${(err as Error).message}\n`);
    return EXIT_NOT_DONE;
  }
  if (envelope === undefined) {
    io.stderr.write(`tlsrelay queue show: no message ${id} in the queue\n`);
    return EXIT_NOT_DONE;
  }
  const now = Date.now();
  if (json) {
    io.stdout.write(`${JSON.stringify({ ...envelope, state: messageState(envelope, now) }, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`${messageText(envelope, now)}\n`);
  return 0;
}

function messageText(envelope: Envelope, now: number): string {
  // the MAIL FROM parameters the relay keeps and acts on
  const parameters = [envelope.ret ? `RET=${envelope.ret}` : '', envelope.envid !== undefined ? `ENVID=${envelope.envid}` : '', envelope.requireTls ? 'REQUIRETLS' : ''].filter(Boolean).join(' ');
  return [
    `queue ID    ${envelope.id}`,
    `received    ${envelope.receivedAt} (${durationText(now - Date.parse(envelope.receivedAt))} ago)`,
    `from        ${sender(envelope.from)}${parameters ? `  ${parameters}` : ''}`,
    `size        ${envelope.size} bytes`,
    `state       ${stateText(envelope, now)}`,
    'recipients',
    ...envelope.recipients.map(recipientLine),
    `attempts    ${envelope.attempts.length}`,
    ...envelope.attempts.map(attemptLine),
  ].join('\n');
}

function recipientLine(recipient: QueuedRecipient): string {
  return `  ${recipient.address}  ${recipient.state}${recipient.lastError !== undefined ? `  last error: ${recipient.lastError}` : ''}`;
}

/** e.g. `  2025-…  partner.test  connector partner (verify)  host mx[1.2.3.4]:25  TLSv1.3 TLS_AES_256_GCM_SHA384  verified  deferred  451 …` */
function attemptLine(attempt: AttemptRecord): string {
  return [
    `  ${attempt.at}`,
    attempt.domain,
    `connector ${attempt.connector} (${attempt.tlsLevel})`,
    attempt.host === null ? 'no host reached' : `host ${attempt.host}`,
    attempt.tls === null ? 'no TLS' : `${attempt.tls.protocol} ${attempt.tls.cipher}`,
    `certificate ${attempt.verdict}`,
    ...(attempt.requireTls === undefined ? [] : [`REQUIRETLS ${attempt.requireTls}`]),
    attempt.outcome,
    attempt.response,
  ].join('  ');
}
