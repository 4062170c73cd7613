import type { Config } from '../../config/types.js';
import type { Envelope } from '../../queue/types.js';
import type { Dated } from '../../tls/dated.js';
import { certificateRows, type CertificateRow } from './certificatesView.js';
import { connectorsView, type ConnectorsView } from './connectorsView.js';
import { queueView, type QueueView } from './queueView.js';
import type { SessionsView } from './sessionShares.js';

// Everything the dashboard shows, as one document: the page is made of it, and
// GET /api/dashboard answers with it as it is. Made from what the relay already keeps —
// the queue's listing, the transit record, the dated material, the running config —
// so that nothing here is a second copy of anything.

export interface DashboardFacts {
  config: Config;
  envelopes: readonly Envelope[];
  /** The transit record from `since` to `now`, tallied. */
  sessions: SessionsView;
  /** Lines of the transit record that were no record (torn by a crash). */
  skippedRecords: number;
  dated: readonly Dated[];
  since: Date;
  now: Date;
}

export interface DashboardData {
  hostname: string;
  /** ISO times: the page's moment, and the start of the period the sessions cover. */
  generatedAt: string;
  since: string;
  queue: QueueView;
  sessions: SessionsView & { skippedRecords: number };
  certificates: CertificateRow[];
  connectors: ConnectorsView;
}

export function dashboardData({ config, envelopes, sessions, skippedRecords, dated, since, now }: DashboardFacts): DashboardData {
  return {
    hostname: config.server.hostname,
    generatedAt: now.toISOString(),
    since: since.toISOString(),
    queue: queueView(envelopes, now.getTime()),
    sessions: { ...sessions, skippedRecords },
    certificates: certificateRows(dated, now),
    connectors: connectorsView(config),
  };
}
