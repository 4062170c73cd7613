/** The window `auth.maxFailuresPerIp` counts in. */
const AUTH_FAILURE_WINDOW_MS = 10 * 60_000;

/** One AUTH attempt in progress; it counts as a failure unless it is released. */
export interface AuthAttempt {
  /** The attempt succeeded (or was not the client's fault): it no longer counts. */
  release(): void;
}

/**
 * Failed AUTH attempts per client IP in a sliding window. An attempt is counted when it
 * begins, not when its password check ends, so a client with many parallel connections
 * cannot get more guesses in than the limit while the checks are running.
 */
export class AuthFailureLimiter {
  /** Start times of the counted attempts per IP, oldest first. */
  private readonly failures = new Map<string, number[]>();
  private nextSweep: number;

  constructor(
    /** A reload may change it; the attempts counted so far stay. */
    public maxFailures: number,
    private readonly windowMs = AUTH_FAILURE_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.nextSweep = this.now() + windowMs;
  }

  /** Starts an attempt from `ip`; undefined when `ip` has used up its failures in the window. */
  begin(ip: string): AuthAttempt | undefined {
    const now = this.now();
    this.sweep(now);
    const recent = this.recent(ip, now);
    if (recent.length >= this.maxFailures) return undefined;
    recent.push(now);
    return { release: () => this.forget(ip, now) };
  }

  /** The IP's counted attempts still inside the window (the stored list, pruned in place). */
  private recent(ip: string, now: number): number[] {
    let times = this.failures.get(ip);
    if (!times) {
      times = [];
      this.failures.set(ip, times);
    }
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    return times;
  }

  private forget(ip: string, startedAt: number): void {
    const times = this.failures.get(ip);
    if (!times) return;
    // attempts that started in the same millisecond are interchangeable
    const index = times.indexOf(startedAt);
    if (index >= 0) times.splice(index, 1);
    if (times.length === 0) this.failures.delete(ip);
  }

  // Forgets IPs whose attempts have all left the window, so that memory stays bounded
  // by the failures of the last two windows.
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    for (const ip of this.failures.keys()) {
      if (this.recent(ip, now).length === 0) this.failures.delete(ip);
    }
    this.nextSweep = now + this.windowMs;
  }
}
