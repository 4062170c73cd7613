import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import type { AttemptOutcome, RecipientResult } from '../queue/types.js';
import { UNSOLICITED_LINES, type SendResult } from './smtpClient.js';

// How the peer's replies (or their absence) become per-recipient results. Pure.

/** What becomes of recipients: the outcome and the reply (or our own text) that says why. */
export interface Disposition {
  outcome: AttemptOutcome;
  code: number;
  response: string;
}

/** One line of a peer's reply (nodemailer joins the lines of a multi-line reply with newlines). */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** The class of a reply decides: 2xx delivered, 5xx bounced, anything else deferred. */
function classifyReply(code: number, reply: string): Disposition {
  const outcome: AttemptOutcome = code >= 200 && code < 300 ? 'delivered' : code >= 500 && code < 600 ? 'bounced' : 'deferred';
  return { outcome, code, response: oneLine(reply) };
}

/** An error's message in one line: the first, where OpenSSL puts what went wrong. */
export function describeError(error: SMTPError): string {
  return oneLine(error.message.split('\n')[0] ?? error.message) || (error.code ?? 'unknown error');
}

/** A peer we could not hold a session with: try the next one. */
export function unreachable(host: string, error: SMTPError): Disposition {
  if (error.code === UNSOLICITED_LINES) {
    // the lines are the peer's (or an attacker's): shown, but not at any length
    const lines = oneLine(error.response ?? '').slice(0, 200);
    return { outcome: 'deferred', code: 451, response: `451 4.5.0 host ${host} ${describeError(error)}: ${lines}; session dropped` };
  }
  if (error.response !== undefined && error.responseCode !== undefined) {
    return { outcome: 'deferred', code: 451, response: `451 4.4.0 host ${host} refused to talk to me: ${oneLine(error.response)}` };
  }
  return { outcome: 'deferred', code: 451, response: `451 4.4.1 connect to ${host}: ${describeError(error)}` };
}

/**
 * Mail held back from a next hop that is down, in Postfix's words with the hop's last
 * error: "451 4.4.1 delivery temporarily suspended: connect to mx.test[192.0.2.1]: …".
 */
export function suspendedDelivery(lastError: Disposition): Disposition {
  const parts = /^(\d{3}(?: [245]\.\d{1,3}\.\d{1,3})?) (.*)$/s.exec(lastError.response);
  const response = parts ? `${parts[1]} delivery temporarily suspended: ${parts[2]}` : `${lastError.code} delivery temporarily suspended: ${lastError.response}`;
  return { outcome: 'deferred', code: lastError.code, response };
}

/**
 * The next hop is this relay, in Postfix's words. Deferred, with 4.4.6 — a routing loop,
 * the code RFC 3463 gives to persistent transient errors — so that `maxAge` turns it into
 * a 5.4.6 bounce; meanwhile the operator can fix the route and nothing circulates.
 */
export function loopsBackToMyself(domain: string): Disposition {
  return { outcome: 'deferred', code: 450, response: `450 4.4.6 mail for ${domain} loops back to myself` };
}

export function lostConnection(host: string, error: SMTPError): Disposition {
  return { outcome: 'deferred', code: 451, response: `451 4.4.2 lost connection with host ${host}: ${describeError(error)}` };
}

/** The peer's reply when the error carries one; otherwise the connection went away. */
function peerReplyOrLost(error: SMTPError, host: string): Disposition {
  if (error.response !== undefined && error.responseCode !== undefined) return classifyReply(error.responseCode, error.response);
  return lostConnection(host, error);
}

function withAddress(address: string, verdict: Disposition & Pick<RecipientResult, 'withoutDsn'>): RecipientResult {
  return { address, ...verdict };
}

/** Why the whole message failed, when it failed as a whole. */
function messageFailure(error: SMTPError, host: string): Disposition {
  if (error.code === 'ESTREAM') {
    return { outcome: 'deferred', code: 451, response: `451 4.3.0 cannot read the queued message: ${describeError(error)}` };
  }
  if (error.code === 'EENVELOPE' && error.command === 'API') {
    // nodemailer refused the envelope before sending anything (CR, LF or <> in an address)
    return { outcome: 'bounced', code: 553, response: `553 5.1.3 ${describeError(error)}` };
  }
  if (error.code === 'EMESSAGE' && error.responseCode === undefined) {
    // our SIZE is above what the peer advertised in EHLO
    return { outcome: 'bounced', code: 552, response: `552 5.3.4 ${describeError(error)} (host ${host})` };
  }
  return peerReplyOrLost(error, host);
}

/**
 * One result per recipient of a transaction: refusals at RCPT apply to their recipient,
 * a refusal of MAIL to everyone, the reply to DATA (or the final dot) to every recipient
 * the peer had accepted, and a lost connection to whoever has no reply yet.
 */
export function recipientResults(recipients: string[], sent: SendResult, host: string): RecipientResult[] {
  const refusedAtRcpt = new Map<string, Disposition>();
  for (const error of sent.envelope.rejected) {
    if (error.recipient === undefined) continue;
    refusedAtRcpt.set(error.recipient, peerReplyOrLost(error, host));
  }
  if (sent.kind === 'sent') {
    const accepted = new Set(sent.envelope.accepted);
    const reply = classifyReply(Number(/^\d{3}/.exec(sent.response)?.[0] ?? 250), sent.response);
    // taken by a peer without DSN: nobody after us reports its delivery (RFC 3461 §5.2.2)
    const delivered: Disposition & Pick<RecipientResult, 'withoutDsn'> = reply.outcome === 'delivered' && !sent.dsn ? { ...reply, withoutDsn: true } : reply;
    return recipients.map((address) =>
      withAddress(address, refusedAtRcpt.get(address) ?? (accepted.has(address) ? delivered : lostConnection(host, new Error('no reply to RCPT TO')))),
    );
  }
  // a refused MAIL ends the transaction before any RCPT mattered
  const whole = messageFailure(sent.error, host);
  if (sent.error.command === 'MAIL FROM') return recipients.map((address) => withAddress(address, whole));
  return recipients.map((address) => withAddress(address, refusedAtRcpt.get(address) ?? whole));
}

/**
 * The attempt as one line: the common result when all recipients share it, otherwise the
 * first recipient that did not get through, saying who and how many did.
 */
export function summarizeResults(results: RecipientResult[]): Disposition {
  const first = results[0];
  if (first === undefined) return { outcome: 'deferred', code: 451, response: '451 4.3.0 no recipients to deliver' };
  if (results.every((result) => result.outcome === first.outcome && result.response === first.response)) {
    return { outcome: first.outcome, code: first.code, response: first.response };
  }
  const failed = results.find((result) => result.outcome === 'deferred') ?? results.find((result) => result.outcome === 'bounced') ?? first;
  const delivered = results.filter((result) => result.outcome === 'delivered').length;
  return {
    outcome: failed.outcome,
    code: failed.code,
    response: `${failed.response} (for ${failed.address}; ${delivered} of ${results.length} recipients delivered)`,
  };
}
