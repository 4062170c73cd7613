import type { RefusalReason } from '../policy/inbound.js';

/**
 * What inbound tells whoever counts (the admin listener's metrics, wired in cli/start.ts):
 * listener and connector names and bounded reasons only, never an address. Inbound does
 * not know who listens.
 */
export interface InboundObserver {
  /** A session was admitted (its greeting went out); sessionClosed follows when it ends. */
  sessionOpened(listener: string): void;
  sessionClosed(listener: string): void;
  /** A message is durable and got its 250; `connector` is the inbound connector of its transaction, if one matched. */
  accepted(listener: string, connector: string | undefined, tls: boolean): void;
  refused(listener: string, reason: RefusalReason): void;
  /** A TLS handshake failed; `reason` is the one the log line says (OpenSSL's, in plain words: a bounded set). */
  handshakeFailed(listener: string, reason: string): void;
}
