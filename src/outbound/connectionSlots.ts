// delivery.perHost and delivery.concurrency as counted connections: a slot is taken
// before a connection is dialled and given back once its socket has closed, across
// every delivery of the process.

/** Gives the slot back; calling it again does nothing. */
export type ReleaseSlot = () => void;

export interface SlotLimits {
  /** delivery.perHost: connections to one next-hop address. */
  perHost: number;
  /** delivery.concurrency: connections in all. */
  overall: number;
}

interface Waiter {
  host: string;
  limits: SlotLimits;
  grant: (release: ReleaseSlot) => void;
}

export class ConnectionSlots {
  private readonly perHost = new Map<string, number>();
  private total = 0;
  /** First come, first served — but one that must wait for its host does not hold up the others. */
  private readonly waiting: Waiter[] = [];

  /**
   * Resolves once a connection to `host` fits both limits (each caller brings the limits
   * of its config snapshot). `signal` withdraws a request still waiting: it then rejects
   * with the signal's reason. A slot granted before that is the caller's to release.
   */
  acquire(host: string, limits: SlotLimits, signal?: AbortSignal): Promise<ReleaseSlot> {
    return new Promise((grant, reject) => {
      const waiter: Waiter = { host, limits, grant };
      this.waiting.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.waiting.indexOf(waiter);
          if (index < 0) return;
          this.waiting.splice(index, 1);
          reject(signal.reason);
        },
        { once: true },
      );
      this.grantWhatFits();
    });
  }

  /** Whether a connection to `host` would have to wait for a slot now. */
  isFull(host: string, limits: SlotLimits): boolean {
    return !this.fits(host, limits);
  }

  private inUse(host: string): number {
    return this.perHost.get(host) ?? 0;
  }

  private fits(host: string, limits: SlotLimits): boolean {
    return this.inUse(host) < limits.perHost && this.total < limits.overall;
  }

  private grantWhatFits(): void {
    for (let index = 0; index < this.waiting.length; ) {
      const waiter = this.waiting[index];
      if (this.fits(waiter.host, waiter.limits)) {
        this.waiting.splice(index, 1);
        waiter.grant(this.take(waiter.host));
      } else {
        index++;
      }
    }
  }

  private take(host: string): ReleaseSlot {
    this.perHost.set(host, this.inUse(host) + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.inUse(host) - 1;
      if (left === 0) this.perHost.delete(host);
      else this.perHost.set(host, left);
      this.total--;
      this.grantWhatFits();
    };
  }
}
