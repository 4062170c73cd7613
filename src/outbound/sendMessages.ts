import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import type { Logger } from '../log.js';
import type { AppliedPolicy } from '../policy/appliedPolicy.js';
import { REQUIRETLS_REFUSAL_CODE, requireTlsFit, requireTlsRefusal } from '../policy/requireTls.js';
import { recordAttempt, type AttemptScope } from './attemptLog.js';
import { mailParameters } from './mailExtensions.js';
import type { MessageProgress } from './messageProgress.js';
import { lostConnection, recipientResults, summarizeResults, type Disposition } from './replies.js';
import { SessionRecords } from './sessionRecords.js';
import type { SmtpClient } from './smtpClient.js';

export type SessionEnd =
  | { kind: 'finished' }
  /**
   * The peer ended a session that had carried mail — RSET refused, or the next message
   * not taken (a limit of messages per connection, an idle timeout) — before it took the
   * next message: the host works, and what is still open goes over a new connection.
   */
  | { kind: 'ended' }
  /** The connection broke off before we were done: a failed transaction or unsent messages behind it. */
  | { kind: 'lost'; result: Disposition }
  /** The peer refused STARTTLS, then hung up before answering the first MAIL. */
  | { kind: 'closed-after-refusal'; reply: string };

export interface ReadySession {
  client: SmtpClient;
  /** The policy the session was judged under: whether it authenticated the peer, for REQUIRETLS. */
  policy: AppliedPolicy;
  /** Set when STARTTLS was refused and the session went on in plaintext. */
  refusedReply?: string;
  /** The session carried messages of an earlier delivery (a parked one). */
  carried?: boolean;
}

/**
 * The peer closed the session instead of taking the message: at MAIL, or with a 421
 * (RFC 5321 4.2: "closing transmission channel") wherever it came — never a message it
 * took, unlike a connection lost after the final dot.
 */
function closedInsteadOfTaking(error: SMTPError): boolean {
  return error.command === 'MAIL FROM' || error.responseCode === 421;
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
 * deferred with why, and the next address may take them — unless it was 'ended': then
 * they are left open for a new connection. A session that is 'finished' is left open:
 * the caller parks it for the next delivery or ends it. A REQUIRETLS message goes only
 * over a session fit for it (with REQUIRETLS on its MAIL FROM); over any other it is
 * skipped, for the next address — judged afresh for every session, parked ones included.
 * What the next hop answered for each message is recorded as the session goes on
 * (SessionRecords), and written before this resolves.
 */
export async function sendMessages(session: ReadySession, messages: MessageProgress[], connection: AttemptScope, peer: string, logger: Logger): Promise<SessionEnd> {
  const records = new SessionRecords();
  try {
    return await sendOverSession(session, messages, connection, peer, logger, records);
  } finally {
    await records.settled();
  }
}

async function sendOverSession(session: ReadySession, messages: MessageProgress[], connection: AttemptScope, peer: string, logger: Logger, records: SessionRecords): Promise<SessionEnd> {
  const { client } = session;
  const fit = requireTlsFit({ policy: session.policy, tls: connection.tls, verdict: connection.verdict, advertised: client.requireTlsAdvertised() });
  const scope: AttemptScope = { ...connection, requireTls: fit.ok ? 'met' : fit.shortfall };
  // skipped before anything is sent: what follows (the first MAIL after a refused STARTTLS,
  // a session the peer ends) is about the messages that do go over this session
  const unfit = fit.ok ? [] : messages.filter((progress) => progress.message.requireTls);
  if (!fit.ok) {
    const refusal = { outcome: 'bounced' as const, code: REQUIRETLS_REFUSAL_CODE, response: requireTlsRefusal(fit.shortfall, peer) };
    for (const progress of unfit) {
      recordAttempt(logger, progress, scope, refusal);
      progress.skip(refusal);
    }
  }
  const sendable = messages.filter((progress) => !unfit.includes(progress));
  for (const [index, progress] of sendable.entries()) {
    const carried = index > 0 || session.carried === true;
    if (index > 0) {
      const failure = await client.reset();
      if (failure !== undefined) {
        client.close();
        return { kind: 'ended' };
      }
    }
    const recipients = progress.pending;
    const { message } = progress;
    const parameters = mailParameters(message.extensions, client.offeredExtensions(), peer);
    if (parameters.kind === 'refused') {
      // decided before MAIL: the session is as fit for the next message as it was
      recordAttempt(logger, progress, scope, parameters.result);
      progress.apply(recipients.map((address) => ({ address, ...parameters.result })));
      continue;
    }
    const envelope = {
      from: message.from,
      to: recipients,
      size: message.size,
      dsn: message.dsn,
      smtputf8: parameters.smtputf8,
      eightBitMime: parameters.eightBitMime,
      requireTls: message.requireTls === true,
    };
    const sent = await client.send(envelope, records.data(message.openData));
    const closedWithoutReply = sent.kind === 'failed' && sent.error.responseCode === undefined && !client.isOpen();
    if (index === 0 && session.refusedReply !== undefined && closedWithoutReply && client.lastReply() === session.refusedReply) {
      return { kind: 'closed-after-refusal', reply: session.refusedReply };
    }
    if (carried && sent.kind === 'failed' && !client.isOpen() && closedInsteadOfTaking(sent.error)) return { kind: 'ended' };
    const results = recipientResults(recipients, sent, peer);
    recordAttempt(logger, progress, scope, summarizeResults(results));
    progress.apply(results);
    // recorded now, not once the batch is done: what a crash sends twice is at most the
    // message whose answer has just come
    records.record(progress);
    if (!client.isOpen()) {
      const result = lostConnection(peer, sent.kind === 'failed' ? sent.error : new Error('the server closed the connection'));
      const left = sendable.slice(index + 1);
      recordForAll(logger, left, scope, result);
      // a message we could not read is closed on our side: that says nothing about the peer
      const closedByUs = sent.kind === 'failed' && sent.error.code === 'ESTREAM';
      return !closedByUs && (sent.kind === 'failed' || left.length > 0) ? { kind: 'lost', result } : { kind: 'finished' };
    }
  }
  return { kind: 'finished' };
}
