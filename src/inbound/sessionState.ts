import type { ClientCertificateFacts } from '../policy/inbound.js';
import type { InboundConnector } from '../config/types.js';
import type { InboundTlsFacts } from './receivedHeader.js';

/** What the relay has learned about one SMTP session, fact by fact as they arrive. */
export interface SessionState {
  tls: InboundTlsFacts | undefined;
  certificate: ClientCertificateFacts | undefined;
  /** Chosen at MAIL FROM, for the current transaction. */
  connector: InboundConnector | undefined;
}

export function newSessionState(): SessionState {
  return { tls: undefined, certificate: undefined, connector: undefined };
}
