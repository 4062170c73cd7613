import type { Logger } from '../log.js';
import { recordAttempt, type AttemptScope } from './attemptLog.js';
import type { MessageProgress } from './messageProgress.js';
import { lostConnection, recipientResults, summarizeResults, type Disposition } from './replies.js';
import type { SmtpClient } from './smtpClient.js';

export type SessionEnd =
  | { kind: 'finished' }
  /** The connection broke off before we were done: a failed transaction or unsent messages behind it. */
  | { kind: 'lost'; result: Disposition }
  /** The peer refused STARTTLS, then hung up before answering the first MAIL. */
  | { kind: 'closed-after-refusal'; reply: string };

export interface ReadySession {
  client: SmtpClient;
  /** Set when STARTTLS was refused and the session went on in plaintext. */
  refusedReply?: string;
}

/** Records the same result for every message and applies it to all their open recipients. */
export function recordForAll(logger: Logger, messages: MessageProgress[], scope: AttemptScope, result: Disposition): void {
  for (const progress of messages) {
    recordAttempt(logger, progress, scope, result);
    progress.apply(progress.pending.map((address) => ({ address, ...result })));
  }
}

/**
 * Sends the messages one after the other over one session (RSET between them), each to
 * its still open recipients. When the session dies, the messages not yet sent are
 * deferred with why, and the next address may take them. A session that is 'finished'
 * is left open: the caller parks it for the next delivery or ends it.
 */
export async function sendMessages(session: ReadySession, messages: MessageProgress[], scope: AttemptScope, peer: string, logger: Logger): Promise<SessionEnd> {
  const { client } = session;
  for (const [index, progress] of messages.entries()) {
    if (index > 0) {
      const failure = await client.reset();
      if (failure !== undefined) {
        client.close();
        const result = lostConnection(peer, failure);
        recordForAll(logger, messages.slice(index), scope, result);
        return { kind: 'lost', result };
      }
    }
    const recipients = progress.pending;
    const { message } = progress;
    const sent = await client.send({ from: message.from, to: recipients, size: message.size, dsn: message.dsn }, message.openData);
    const closedWithoutReply = sent.kind === 'failed' && sent.error.responseCode === undefined && !client.isOpen();
    if (index === 0 && session.refusedReply !== undefined && closedWithoutReply && client.lastReply() === session.refusedReply) {
      return { kind: 'closed-after-refusal', reply: session.refusedReply };
    }
    const results = recipientResults(recipients, sent, peer);
    recordAttempt(logger, progress, scope, summarizeResults(results));
    progress.apply(results);
    if (!client.isOpen()) {
      const result = lostConnection(peer, sent.kind === 'failed' ? sent.error : new Error('the server closed the connection'));
      const left = messages.slice(index + 1);
      recordForAll(logger, left, scope, result);
      // a message we could not read is closed on our side: that says nothing about the peer
      const closedByUs = sent.kind === 'failed' && sent.error.code === 'ESTREAM';
      return !closedByUs && (sent.kind === 'failed' || left.length > 0) ? { kind: 'lost', result } : { kind: 'finished' };
    }
  }
  return { kind: 'finished' };
}
