import type { OutboundConnector } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AttemptRecord, CertVerdict, TlsFacts } from '../queue/types.js';
import type { MessageProgress } from './messageProgress.js';
import type { Disposition } from './replies.js';

/** Everything an attempt record says that is the same for all messages on one connection. */
export interface AttemptScope {
  domain: string;
  connector: OutboundConnector;
  /** `name[address]:port`, or null when no host was reached (routing or setup failed). */
  host: string | null;
  tls: TlsFacts | null;
  verdict: CertVerdict;
}

/**
 * Keeps the attempt with the message and logs it as one line with a fixed set of fields.
 * Envelope addresses may appear in `response`; message content and secrets never do.
 */
export function recordAttempt(logger: Logger, progress: MessageProgress, scope: AttemptScope, result: Disposition): void {
  const record: AttemptRecord = {
    at: new Date().toISOString(),
    domain: scope.domain,
    connector: scope.connector.name,
    tlsLevel: scope.connector.tls,
    host: scope.host,
    tls: scope.tls,
    verdict: scope.verdict,
    outcome: result.outcome,
    code: result.code,
    response: result.response,
  };
  progress.attempts.push(record);
  const { domain, connector, tlsLevel, host, tls, verdict, outcome, code, response } = record;
  logger.info({ queueId: progress.message.queueId, domain, connector, tlsLevel, host, tls, verdict, outcome, code, response }, 'delivery attempt');
}
