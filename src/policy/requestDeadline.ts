/**
 * How long a client may take over one SMTP request, as Postfix's smtpd with
 * `smtpd_per_request_deadline = yes` and `smtpd_min_data_rate` judges it: an idle timer that
 * every byte restarts lets a client that trickles one byte at a time hold a session forever.
 * Only the time the relay spends waiting for the client is charged; time the relay itself
 * takes (its hooks, the spool) never is.
 */
export interface DeadlineLimits {
  /** smtp.idleTimeout, ms: the most a request has left, from its first byte on. */
  timeoutMs: number;
  /** smtp.minDataRate, bytes/second: each message byte read in DATA earns 1/minDataRate s. */
  minDataRate: number;
}

/** Which deadline ran out: a command line's, or the message data's. */
export type RequestKind = 'command' | 'data';

/** What the client owes after a read: nothing (between commands), or the rest of a request and the time it has left for it. */
export type PendingRequest = { kind: 'none' } | { kind: RequestKind; remainingMs: number };

export const NOTHING_PENDING: PendingRequest = { kind: 'none' };

/** One read from the client, as the command parser saw it. */
export interface ClientRead {
  /** How long the relay had been waiting for it. */
  waitedMs: number;
  /** What is unfinished once the read is parsed: message data, a part of a command line, or nothing. */
  owing: RequestKind | 'none';
  /** Whether the read completed a command line, so that what is owing after it began with it. */
  completedLine: boolean;
  /** Message bytes the read carried. */
  dataBytes: number;
}

/**
 * The request pending after a read. A request that began with the read has the whole
 * timeout; a command line that goes on is charged the wait; message data is charged the
 * wait and credited its bytes at the minimum rate, never beyond the whole timeout
 * (Postfix caps it so, or a fast start would buy a long trickle).
 */
export function afterRead(pending: PendingRequest, read: ClientRead, limits: DeadlineLimits): PendingRequest {
  if (read.owing === 'none') return NOTHING_PENDING;
  if (read.completedLine || pending.kind !== read.owing) return { kind: read.owing, remainingMs: limits.timeoutMs };
  const charged = pending.remainingMs - read.waitedMs;
  if (read.owing === 'command') return { kind: 'command', remainingMs: charged };
  return { kind: 'data', remainingMs: Math.min(limits.timeoutMs, charged + (read.dataBytes * 1000) / limits.minDataRate) };
}

/** What the client is told when its request's deadline has passed (Postfix's words); the connection is closed behind it. */
export function deadlineReply(hostname: string): { code: 421; message: string } {
  return { code: 421, message: `4.4.2 ${hostname} Error: timeout exceeded` };
}
