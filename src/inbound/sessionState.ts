import type { ClientCertificateFacts } from '../policy/inbound.js';
import type { Config, InboundConnector } from '../config/types.js';
import type { InboundTlsFacts } from './receivedHeader.js';

/** What the relay has learned about one SMTP session, fact by fact as they arrive. */
export interface SessionState {
  /** The config snapshot taken when the session connected; a reload applies to later sessions. */
  config: Config;
  tls: InboundTlsFacts | undefined;
  certificate: ClientCertificateFacts | undefined;
  /** Chosen at MAIL FROM, for the current transaction. */
  connector: InboundConnector | undefined;
  /** Transactions that got their 250 in this connection (smtp.maxMessagesPerConnection). */
  messagesAccepted: number;
}

export function newSessionState(config: Config): SessionState {
  return { config, tls: undefined, certificate: undefined, connector: undefined, messagesAccepted: 0 };
}
