import { retryStep } from '../queue/retry.js';
import type { Disposition } from './replies.js';

// Which next hops failed lately, so that a host that is down costs one probe connection
// per backoff period instead of one failed connection per message. In memory: a restart
// forgets it, which costs at most one more probe per host.
//
// A scope is a string naming what failed: a next-hop address (every connection to it
// fails), or an address together with a connector (only that connector's TLS fails
// there). The caller composes them; this class only counts and times.

/** However long queue.retry's steps get, a host that is back gets its mail within this. */
export const MAX_SUSPENSION_MS = 60 * 60_000;

/** A connection's leave to go ahead; it carries the probes of the scopes it was let through for. */
export interface Pass {
  readonly probing: ReadonlySet<string>;
}

interface Suspension {
  /** Consecutive backoff periods that ended in a failure. */
  failures: number;
  /** Epoch ms: no connection before this; after it, one probe. */
  until: number;
  /** What the last failure said: suspended deliveries are deferred with it. */
  lastError: Disposition;
  /** The connection that probes the scope now its period has ended. */
  probe: Pass | undefined;
}

export type Admission =
  | { kind: 'go'; pass: Pass }
  | { kind: 'suspended'; scope: string; failures: number; until: number; lastError: Disposition };

/** A backoff period that has just begun. */
export interface Outage {
  failures: number;
  until: number;
}

export class HostBackoff {
  private readonly suspensions = new Map<string, Suspension>();

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * May a connection go to something in all of `scopes` now? Not while one of them is
   * in its backoff period or probed by another connection. A scope whose period has
   * ended is probed by this connection: until it reports, every other one waits.
   */
  admit(scopes: string[]): Admission {
    const now = this.clock();
    for (const scope of scopes) {
      const suspension = this.suspensions.get(scope);
      if (suspension && (suspension.until > now || suspension.probe !== undefined)) {
        const { failures, until, lastError } = suspension;
        return { kind: 'suspended', scope, failures, until, lastError };
      }
    }
    const probing = new Set<string>();
    const pass: Pass = { probing };
    for (const scope of scopes) {
      const suspension = this.suspensions.get(scope);
      if (suspension === undefined) continue;
      suspension.probe = pass;
      probing.add(scope);
    }
    return { kind: 'go', pass };
  }

  /** The scope worked: its failures are forgotten. Returns how many there were (0: it was not suspended). */
  up(scope: string): number {
    const failures = this.suspensions.get(scope)?.failures ?? 0;
    this.suspensions.delete(scope);
    return failures;
  }

  /**
   * The scope failed for `pass`. A new backoff period begins, as long as queue.retry's
   * step for the failure count (at most MAX_SUSPENSION_MS) — unless a period is running
   * that this pass did not probe: then the connection had set out before the outage was
   * known, and its failure is the same outage, not a new one (undefined is returned).
   */
  down(pass: Pass, scope: string, lastError: Disposition, schedule: number[]): Outage | undefined {
    const now = this.clock();
    const current = this.suspensions.get(scope);
    const sameOutage = current !== undefined && current.probe !== pass && (current.probe !== undefined || current.until > now);
    if (sameOutage) {
      current.lastError = lastError;
      return undefined;
    }
    const failures = (current?.failures ?? 0) + 1;
    const until = now + Math.min(retryStep(schedule, failures), MAX_SUSPENSION_MS);
    this.suspensions.set(scope, { failures, until, lastError, probe: undefined });
    return { failures, until };
  }

  /** The connection is over: a probe it did not settle is released, so the next connection probes instead. */
  release(pass: Pass): void {
    for (const scope of pass.probing) {
      const suspension = this.suspensions.get(scope);
      if (suspension?.probe === pass) suspension.probe = undefined;
    }
  }

  /**
   * An operator asked to try again (`tlsrelay queue retry`): every backoff period ends
   * now, so the next connection to each suspended scope is its probe. Failure counts stay.
   */
  endPeriods(): void {
    const now = this.clock();
    for (const suspension of this.suspensions.values()) suspension.until = Math.min(suspension.until, now);
  }

  /**
   * When a connection to something in all of `scopes` may be tried again: the end of the
   * latest backoff period among them; undefined when none of them is in one.
   */
  resumesAt(scopes: string[]): number | undefined {
    const now = this.clock();
    const ends = scopes.flatMap((scope) => {
      const until = this.suspensions.get(scope)?.until;
      return until !== undefined && until > now ? [until] : [];
    });
    return ends.length === 0 ? undefined : Math.max(...ends);
  }
}
