import type { AdminSources } from '../admin/adminServer.js';
import type { DashboardSources } from '../admin/dashboard/dashboardEndpoint.js';
import { readiness, spoolWriteProblem } from '../admin/readiness.js';
import { RelayMetrics } from '../admin/relayMetrics.js';
import type { Config } from '../config/types.js';
import type { RunningListener } from '../inbound/listeners.js';
import { countQueue } from '../queue/messageState.js';
import type { Envelope } from '../queue/types.js';
import type { Dated } from '../tls/dated.js';
import type { TransitSink } from '../transit/record.js';

// The admin listener's wiring: what its metrics and probes read of the running relay.

/** The metrics, when the config has an admin section; without one nothing is counted. */
export function metricsFor(config: Config, queued: () => Iterable<Envelope>, dated: () => Dated[]): RelayMetrics | undefined {
  if (config.admin === undefined) return undefined;
  return new RelayMetrics({ queue: () => countQueue(queued(), Date.now()), dated }, config.listeners.map(({ name }) => name));
}

/** The transit record as delivery writes it, each session told to the metrics too. */
export function countedTransit(transit: TransitSink, metrics: RelayMetrics | undefined): TransitSink {
  if (metrics === undefined) return transit;
  return {
    add: (record) => {
      metrics.sessionRecorded(record);
      transit.add(record);
    },
  };
}

export interface RunningRelay {
  config(): Config;
  /** The spool the queue was opened in (queue.dir changes only with a restart). */
  spoolDir: string;
  /** Why the queue's store cannot be reached, if it cannot (MessageQueue.unreachable). */
  queueProblem(): Promise<string | undefined>;
  listeners: readonly RunningListener[];
  shuttingDown(): boolean;
}

export function adminSources(relay: RunningRelay, metrics: RelayMetrics, dashboard: DashboardSources): AdminSources {
  return {
    passwordHash: () => relay.config().admin?.passwordHash,
    readiness: async () =>
      readiness({
        shuttingDown: relay.shuttingDown(),
        listenersDown: relay.listeners.filter(({ server }) => !server.server.listening).map(({ name }) => name),
        spoolProblem: await spoolWriteProblem(relay.spoolDir),
        queueProblem: await relay.queueProblem(),
      }),
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    dashboard,
  };
}
