import type { Logger } from '../log.js';
import type { Dated } from '../tls/dated.js';
import { nextCheckAt, warningDue } from '../tls/expirySchedule.js';
import { logExpiryWarning } from './expiryNotice.js';

/** One dated thing across checks: a renewed certificate or a newer CRL is another one. */
const identity = ({ setting, file, subject, end }: Dated): string => `${setting}\0${file}\0${subject}\0${end.toISOString()}`;

/**
 * The running relay's expiry warnings: a check at start and at each reload, then at the
 * next warning instant (within a day at most). What was warned about when is kept in
 * memory, so a reload repeats no warning; a restart warns once more about what is due.
 */
export class ExpiryWatch {
  private lastWarned = new Map<string, Date>();
  private dated: () => Dated[] = () => [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** What to watch from now on (read again at each check), checked at once; the next check is scheduled. */
  watch(dated: () => Dated[]): void {
    this.dated = dated;
    this.schedule(this.check());
  }

  /** Logs the warnings due now; returns when the next one can be. */
  check(): Date {
    const now = this.clock();
    const items = this.dated();
    const kept = new Map<string, Date>();
    for (const item of items) {
      const id = identity(item);
      const last = this.lastWarned.get(id);
      if (warningDue(item.end, now, last)) {
        logExpiryWarning(this.logger, item, now);
        kept.set(id, now);
      } else if (last !== undefined) {
        kept.set(id, last);
      }
    }
    // what is no longer configured is forgotten
    this.lastWarned = kept;
    return nextCheckAt(items.map((item) => item.end), now);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private schedule(next: Date): void {
    clearTimeout(this.timer);
    // never holds the process open: the listeners do that, and a stop calls stop()
    this.timer = setTimeout(() => this.schedule(this.check()), Math.max(0, next.getTime() - this.clock().getTime())).unref();
  }
}
