import type { AttemptRecord, RecipientResult } from '../queue/types.js';
import type { MessageResult, OutgoingMessage } from './types.js';

/**
 * Where one message stands during a domain delivery: which recipients still need a
 * host, the latest result of each, and the attempts made. Delivered and bounced
 * recipients are settled; deferred ones stay open for the next host, and so do those
 * of a REQUIRETLS message a host could not take (skip).
 */
export class MessageProgress {
  readonly attempts: AttemptRecord[] = [];
  private readonly latest = new Map<string, RecipientResult>();
  /** The REQUIRETLS refusal of the last host skipped, by recipient: their bounce if no host does better. */
  private readonly skipped = new Map<string, RecipientResult>();
  private readonly open: Set<string>;

  constructor(readonly message: OutgoingMessage) {
    this.open = new Set(message.recipients);
  }

  /** Recipients without a final answer yet, in the order given. */
  get pending(): string[] {
    return [...this.open];
  }

  get settled(): boolean {
    return this.open.size === 0;
  }

  apply(results: RecipientResult[]): void {
    for (const result of results) {
      if (!this.open.has(result.address)) continue;
      this.latest.set(result.address, result);
      if (result.outcome !== 'deferred') this.open.delete(result.address);
    }
  }

  /**
   * This host does not qualify for the message's REQUIRETLS: its open recipients stay open
   * for the next host, and `refusal` (a bounce) is their last word only if no host gives
   * them another — a host that could not be reached, or deferred, may yet qualify, so its
   * deferral stands over a skip and the message is tried again.
   */
  skip(refusal: Omit<RecipientResult, 'address'>): void {
    for (const address of this.open) this.skipped.set(address, { address, ...refusal });
  }

  /**
   * Hands what the next hop's answers settled or delivered to the message's recorder
   * (OutgoingMessage.recordReplies); resolves once it is recorded. Nothing to record —
   * only deferrals, which the next host may better — resolves at once.
   */
  async recordReplies(): Promise<void> {
    const record = this.message.recordReplies;
    if (record === undefined) return;
    const result = this.result();
    if (!this.settled && !result.recipients.some((recipient) => recipient.outcome === 'delivered')) return;
    await record({ result, settled: this.settled });
  }

  /**
   * Every recipient's last word: the latest result, else the REQUIRETLS refusal of the
   * hosts skipped; one never tried (which should not happen) is deferred, saying so.
   */
  result(): MessageResult {
    const recipients = [...new Set(this.message.recipients)].map(
      (address): RecipientResult =>
        this.latest.get(address) ?? this.skipped.get(address) ?? { address, outcome: 'deferred', code: 451, response: '451 4.3.0 no delivery attempt was made' },
    );
    return { queueId: this.message.queueId, recipients, attempts: [...this.attempts] };
  }
}

/** The messages that still have recipients without a final answer. */
export const stillOpen = (messages: MessageProgress[]): MessageProgress[] => messages.filter((progress) => !progress.settled);
