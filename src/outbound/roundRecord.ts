import type { AttemptRecord, RecipientResult } from '../queue/types.js';

/** What one domain's delivery did for one message: its recipients' last words and the attempts made. */
export interface DomainOutcome {
  domain: string;
  recipients: RecipientResult[];
  attempts: AttemptRecord[];
}

/** How a round is written to the queue. Neither call rejects: a write that fails is the writer's to keep or report. */
export interface RoundWriter {
  /**
   * Marks recipients the next hops took as delivered and changes nothing else, while the
   * round goes on. `rest`: what is still being tried — other domains, or other recipients
   * of this domain (on the next host).
   */
  deliveries(domain: string, addresses: string[], rest: 'domains' | 'recipients'): Promise<void>;
  /** The whole round — deliveries, deferrals, bounces, DSNs, the schedule — from every domain's outcome, in the order the domains were given. */
  round(outcomes: DomainOutcome[]): Promise<void>;
}

/**
 * One claimed message's delivery round, written as it goes rather than once the
 * connection's whole batch is done: a crash sends again only what the next hops took
 * since the last write, and a session lets its next hop take the next message only once
 * the write is done (SessionRecords), so that is at most the message whose 250 has just
 * come. Each domain's first outcome counts — the
 * moment its last recipient got a final answer, or the end of the domain's delivery —
 * and the last domain to finish writes the round. Writes are made one after the other.
 */
export class RoundRecord {
  private readonly outcomes = new Map<string, DomainOutcome>();
  private writes: Promise<void> = Promise.resolve();
  private readonly roundWritten: () => void;
  /** Resolves once the round has been written; at once for a message with no domain in it. */
  readonly written: Promise<void>;

  constructor(
    private readonly domains: readonly string[],
    private readonly writer: RoundWriter,
  ) {
    let resolveWritten!: () => void;
    this.written = new Promise((resolve) => (resolveWritten = resolve));
    this.roundWritten = resolveWritten;
    if (domains.length === 0) this.roundWritten();
  }

  /** Recipients of `domain` the next hop took while others of the domain are still open; resolves once written. */
  delivered(domain: string, addresses: string[]): Promise<void> {
    if (addresses.length === 0 || this.outcomes.has(domain) || !this.domains.includes(domain)) return this.writes;
    return this.then(() => this.writer.deliveries(domain, addresses, 'recipients'));
  }

  /** The domain's outcome; a later one for the same domain is ignored. Resolves once what it calls for is written. */
  finish(outcome: DomainOutcome): Promise<void> {
    if (this.outcomes.has(outcome.domain) || !this.domains.includes(outcome.domain)) return this.writes;
    this.outcomes.set(outcome.domain, outcome);
    if (this.outcomes.size === this.domains.length) {
      const outcomes = this.domains.map((domain) => this.outcomes.get(domain)!);
      const written = this.then(() => this.writer.round(outcomes));
      void written.then(this.roundWritten);
      return written;
    }
    const delivered = outcome.recipients.filter((recipient) => recipient.outcome === 'delivered').map((recipient) => recipient.address);
    return delivered.length === 0 ? this.writes : this.then(() => this.writer.deliveries(outcome.domain, delivered, 'domains'));
  }

  private then(write: () => Promise<void>): Promise<void> {
    this.writes = this.writes.then(write);
    return this.writes;
  }
}
