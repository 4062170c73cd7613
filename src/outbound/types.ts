import type { Readable } from 'node:stream';
import type { Config } from '../config/types.js';
import type { AttemptRecord, RecipientResult } from '../queue/types.js';
import type { Logger } from '../log.js';
import type { PolicySource } from '../policy/appliedPolicy.js';
import type { MtaStsState } from '../policy/mtaSts.js';
import type { TlsMaterial } from '../tls/material.js';
import type { OcspCache } from '../tls/ocsp/ocspCache.js';
import type { TransitSink } from '../transit/record.js';
import type { ConnectionSlots } from './connectionSlots.js';
import type { OutgoingDsn } from './dsnParameters.js';
import type { HostBackoff } from './hostBackoff.js';
import type { ThisHost } from './loopDetection.js';
import type { ExtensionNeeds } from './mailExtensions.js';
import type { SessionCache } from './sessionCache.js';

export type { TlsMaterial };

/** One queued message as the delivery code sees it: only the still-pending recipients of one domain. */
export interface OutgoingMessage {
  queueId: string;
  /** '' for the null sender. */
  from: string;
  recipients: string[];
  size: number;
  /** The RFC 3461 parameters it arrived with, for a next hop that advertises DSN; absent when its client used none. */
  dsn?: OutgoingDsn;
  /** What it asks of a next hop's SMTPUTF8 and 8BITMIME. */
  extensions: ExtensionNeeds;
  /** One of the relay's own TLS reports: the transit record counts it apart (see TransitRecord.tlsReports). */
  tlsReport?: true;
  /** It arrived with REQUIRETLS (RFC 8689): only a next hop that qualifies (policy/requireTls.ts) may take it. */
  requireTls?: true;
  /** A fresh stream of the stored message each time it is called (a retry on another host re-reads it). */
  openData: () => Readable;
  /**
   * Called after each answer of a next hop to the message's data: the queue records now
   * what the next hop took or refused for good, so that a crash from then on does not send
   * it again; the session's next message is not finished (its final dot) before this
   * resolves (SessionRecords). `settled`: every recipient has its last word for this
   * delivery. Without it the results come only at the end.
   */
  recordReplies?: (replies: { result: MessageResult; settled: boolean }) => Promise<void>;
  /** Told of each attempt as it is recorded, with the source of the policy that governed it (for the metrics). */
  attempted?: (attempt: AttemptRecord, policy: PolicySource) => void;
}

export type { RecipientResult };

export interface MessageResult {
  queueId: string;
  recipients: RecipientResult[];
  /** One record per host tried for this message, in order. */
  attempts: AttemptRecord[];
}

export interface DeliveryContext {
  config: Config;
  tls: TlsMaterial;
  logger: Logger;
  /** Next hops that failed lately; one for the process, whatever the config snapshot. */
  backoff: HostBackoff;
  /** delivery.perHost and delivery.concurrency, counted across every delivery of the process. */
  slots: ConnectionSlots;
  /** Idle sessions waiting for the next delivery to their next hop. */
  sessions: SessionCache;
  /** Next hops' OCSP answers until their nextUpdate (tls.ocsp); one for the process, shared with the listeners. */
  ocspAnswers: OcspCache;
  /** Where this relay listens and the host's addresses: how a next hop that is the relay itself is told. */
  thisHost: ThisHost;
  /** Takes one record per delivery session (attemptLog.ts), for `report tls` and TLS-RPT. */
  transit: TransitSink;
  /** Recipient domains' MTA-STS policies (mtaSts/source.ts): one cache for the process, on disk under the spool. */
  mtaSts: { policyFor(domain: string): Promise<MtaStsState> };
  /** Told of attempts and connections, for the metrics; absent: nobody counts. */
  observer?: DeliveryObserver;
}

/**
 * What delivery tells whoever counts (the admin listener's metrics, wired in cli/start.ts):
 * connector names and bounded values only, never an address.
 */
export interface DeliveryObserver {
  /** One attempt of one message; `receivedAt`: when the relay took the message (its 250), for the delivery's duration. */
  attempted(attempt: AttemptRecord, policy: PolicySource, receivedAt: string): void;
  /** A connection to a next hop was dialled under the connector; connectionClosed follows once its socket is gone. */
  connectionOpened(connector: string): void;
  connectionClosed(connector: string): void;
}
