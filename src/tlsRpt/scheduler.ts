import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { DnsLookups } from '../outbound/resolver.js';
import type { NewMessage } from '../queue/types.js';
import type { TlsMaterial } from '../tls/material.js';
import { scanTransit } from '../transit/reader.js';
import type { TransitRecord } from '../transit/record.js';
import { buildAggregateReport, type AggregateReport, type Reporter } from './aggregateReport.js';
import { postReport, type SendOutcome } from './httpsSender.js';
import { lookupReportingPolicy } from './lookupPolicy.js';
import { periodOf, periodsToReport, type ReportPeriod } from './period.js';
import { reportFile, type ReportFile } from './reportFile.js';
import { readRuaUri, type ReportDestination } from './reportingPolicy.js';
import { reportMessage } from './reportMessage.js';
import { markersDir, SentMarkers, type SentMarker } from './sentMarkers.js';

// Sending the reports: in the relay process, off the delivery path, on a timer of its own.
// After each period ends (and the transit writer has flushed its last sessions), the
// records of the periods still due are read, grouped by recipient domain, and each domain
// whose `_smtp._tls` record asks for reports gets one per period: `mailto:` through the
// relay's own queue, `https:` as a POST. A destination that failed is tried again until
// the end of the period after the one reported; the markers (sentMarkers.ts) make each
// report go once, across restarts too.

/** What the scheduler needs of the running relay; read at each run, so a reload counts from the next one. */
export interface TlsRptEnvironment {
  config: () => Config;
  lookups: () => Pick<DnsLookups, 'txt' | 'addresses'>;
  ca: () => TlsMaterial['ca'];
  /** Queues a report message (spool.store, then handed to delivery). */
  queue: (message: NewMessage, data: Buffer) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

const SECOND = 1_000;
const HOUR = 3_600_000;
const clamp = (value: number, low: number, high: number): number => Math.min(Math.max(value, low), high);

/** The waits that follow from the interval: a day's in production, shrunk in proportion for the short periods of tests. */
export function timingsOf(interval: number): { settle: number; retryWait: number; timeout: number; lookback: number } {
  return {
    // sessions still under way at the end of a period are recorded when they end, and written a second later
    settle: clamp(interval / 10, 2 * SECOND, 5 * 60 * SECOND),
    retryWait: clamp(interval / 12, 2 * SECOND, 2 * HOUR),
    // RFC 8460 §5.4 leaves it open; a POST of a few kilobytes takes well under this
    timeout: clamp(interval / 2, SECOND, 30 * SECOND),
    // how far back a relay that was down still reports: the day before at least
    lookback: Math.max(interval, HOUR),
  };
}

/** Runs `work` over the items, at most `limit` at once. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

/** Domains reported on at once: a slow endpoint of one holds up no other. */
const PARALLEL_DOMAINS = 4;

interface DomainPeriod {
  domain: string;
  period: ReportPeriod;
  records: TransitRecord[];
}

const periodFields = (period: ReportPeriod): { start: string; end: string } => ({ start: new Date(period.start).toISOString(), end: new Date(period.end).toISOString() });

export class TlsRptScheduler {
  private readonly markers: SentMarkers;
  private readonly interval: number;
  private readonly queueDir: string;
  private readonly timings: ReturnType<typeof timingsOf>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly env: TlsRptEnvironment) {
    // the period and the folder stay those of the start: changing them takes a restart
    const config = env.config();
    this.interval = config.tlsRpt.interval;
    this.queueDir = config.queue.dir;
    this.timings = timingsOf(this.interval);
    this.markers = new SentMarkers(markersDir(this.queueDir));
  }

  private now(): number {
    return this.env.now?.() ?? Date.now();
  }

  /** A first run now (for the period that ended while the relay was down), then one after each period. */
  start(): void {
    this.tick();
  }

  /** No run after this one; a send under way is left to finish or to be tried again after the restart. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Resolves when the run under way (if any) has finished: for tests. */
  idle(): Promise<void> {
    return this.running;
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.run()
      .catch((err: Error) => {
        this.env.logger.error({ err: err.message }, 'TLS reports: the run failed; it is tried again');
        return true;
      })
      .then((pending) => this.schedule(pending));
  }

  private schedule(pending: boolean): void {
    if (this.stopped) return;
    const now = this.now();
    const { settle, retryWait } = this.timings;
    // the next period end's run, never one skipped because this run came early
    const nextRun = periodOf(now - settle, this.interval).end + settle;
    const at = pending ? Math.min(nextRun, now + retryWait) : nextRun;
    this.timer = setTimeout(() => this.tick(), Math.max(at - now, 0));
    this.timer.unref();
  }

  /** One pass over the periods still due; true when some destination is to be tried again. */
  private async run(): Promise<boolean> {
    const config = this.env.config();
    if (!config.tlsRpt.enabled) return false;
    const now = this.now();
    const periods = periodsToReport(now, this.interval, this.timings.lookback);
    const until = periods.at(-1)!.end;
    const groups = new Map<string, DomainPeriod>();
    await scanTransit(this.queueDir, { since: periods[0]!.start }, (record) => {
      const at = Date.parse(record.at);
      if (at >= until) return;
      const period = periodOf(at, this.interval);
      const key = `${period.start} ${record.domain}`;
      const group = groups.get(key) ?? { domain: record.domain, period, records: [] };
      group.records.push(record);
      groups.set(key, group);
    });
    const reporter: Reporter = { organization: config.tlsRpt.organization, contact: config.tlsRpt.contact, submitter: config.server.hostname };
    let pending = false;
    await eachLimited([...groups.values()], PARALLEL_DOMAINS, async (group) => {
      if (await this.report(group, reporter, now)) pending = true;
    });
    await this.markers.prune(periods[0]!.start);
    this.env.logger.debug({ since: new Date(periods[0]!.start).toISOString(), until: new Date(until).toISOString(), domainPeriods: groups.size, pending }, 'TLS reports: run finished');
    return pending;
  }

  /** The report of one domain and period, sent where it is still due; true when a destination is to be tried again. */
  private async report({ domain, period, records }: DomainPeriod, reporter: Reporter, now: number): Promise<boolean> {
    const known = await this.markers.read(period, domain);
    if (known !== undefined && !Object.values(known.destinations).includes('pending')) return false;
    const report = buildAggregateReport(domain, period, records, reporter);
    if (report === undefined) return false;
    const lastTry = now >= period.end + this.interval;
    const marker = known ?? (await this.claim(domain, period, lastTry));
    if (marker === undefined) return !lastTry;
    if (marker === 'taken') return false;
    const file = reportFile(report, domain, period, reporter.submitter);
    const log = this.env.logger;
    await Promise.all(
      Object.entries(marker.destinations)
        .filter(([, state]) => state === 'pending')
        .map(async ([uri]) => {
          const destination = readRuaUri(uri);
          // a marker holds only URIs read as destinations; one that no longer reads is given up
          const outcome: SendOutcome = 'kind' in destination ? await this.send(destination, report, file, reporter, domain) : { ok: false, detail: destination.reason };
          const fields = { domain, period: periodFields(period), uri, reportId: report['report-id'] };
          if (outcome.ok) {
            marker.destinations[uri] = 'sent';
            log.info({ ...fields, detail: outcome.detail }, 'TLS report sent');
          } else if (lastTry || !('kind' in destination)) {
            marker.destinations[uri] = 'given-up';
            log.warn({ ...fields, reason: outcome.detail }, 'TLS report not sent; given up');
          } else {
            log.warn({ ...fields, reason: outcome.detail, until: new Date(period.end + this.interval).toISOString() }, 'TLS report not sent; it is tried again');
          }
        }),
    );
    await this.markers.update(marker);
    return Object.values(marker.destinations).includes('pending');
  }

  /**
   * Looks up where the domain wants its reports and claims the report: the marker to send
   * by, 'taken' when another relay (or an earlier run) claimed it, undefined when the
   * lookup failed and is to be tried again.
   */
  private async claim(domain: string, period: ReportPeriod, lastTry: boolean): Promise<SentMarker | 'taken' | undefined> {
    const log = this.env.logger;
    const policy = await lookupReportingPolicy(this.env.lookups(), domain);
    if (policy.kind === 'temporary' && !lastTry) {
      log.warn({ domain, reason: policy.reason }, 'TLS report: the reporting policy lookup failed; it is tried again');
      return undefined;
    }
    if (policy.kind !== 'policy') {
      // once per period and domain: the marker says there was nothing to send
      const claimed = await this.markers.claim({ domain, period, destinations: {}, none: policy.reason });
      if (claimed && policy.kind === 'none') log.debug({ domain, reason: policy.reason }, 'TLS report: the domain asks for none');
      if (claimed && policy.kind !== 'none') log.warn({ domain, period: periodFields(period), reason: policy.reason }, 'TLS report not sent: the reporting policy is unusable');
      return 'taken';
    }
    const marker: SentMarker = { domain, period, destinations: Object.fromEntries(policy.destinations.map((destination) => [destination.uri, 'pending' as const])) };
    if (!(await this.markers.claim(marker))) return 'taken';
    if (policy.skipped.length > 0) log.warn({ domain, period: periodFields(period), skipped: policy.skipped }, 'TLS report: rua URIs skipped');
    return marker;
  }

  private async send(destination: ReportDestination, report: AggregateReport, file: ReportFile, reporter: Reporter, domain: string): Promise<SendOutcome> {
    if (destination.kind === 'https') return postReport(destination.url, file, { lookups: this.env.lookups(), ca: this.env.ca(), timeoutMs: this.timings.timeout });
    const reportId = report['report-id'];
    const { message, data } = reportMessage({ domain, submitter: reporter.submitter, reportId, contact: reporter.contact, to: destination.address, file, now: new Date(this.now()) });
    try {
      await this.env.queue(message, data);
      return { ok: true, detail: `queued for ${destination.address}` };
    } catch (err) {
      return { ok: false, detail: `cannot queue the report: ${(err as Error).message}` };
    }
  }
}
