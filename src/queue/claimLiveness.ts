import { hostname } from 'node:os';
import { CLAIM_STALE_MS, type ClaimHolder } from './messageQueue.js';

/** This host's name, read once: os.hostname() is a uname(2) per call, and it was one per claim. */
const HOST = hostname();

/**
 * Whether a claim may be taken over, whatever keeps it (a lock file, a record): it names no
 * holder (damaged from outside), was not refreshed for CLAIM_STALE_MS, or names a holder
 * on this host that is known to be gone — no such process, or this very process ID
 * without this process holding it (a restart that reused the ID). A holder on another
 * host is judged by the age alone: its process IDs mean nothing here.
 * `heldHere`: this process holds a claim with the holder's token.
 */
export function isClaimStale(holder: ClaimHolder | undefined, refreshedAtMs: number, heldHere: boolean, now: number): boolean {
  if (holder === undefined || now - refreshedAtMs > CLAIM_STALE_MS) return true;
  if (holder.host !== HOST) return false;
  if (holder.pid === process.pid) return !heldHere;
  return !isAlive(holder.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder of this process, with a token of its own. */
export function newHolder(token: string): ClaimHolder {
  return { pid: process.pid, host: HOST, token, since: new Date().toISOString() };
}

/** A holder read back from storage, or undefined when it is not one. */
export function parseHolder(value: unknown): ClaimHolder | undefined {
  const holder = value as Partial<ClaimHolder> | null;
  if (holder && typeof holder.pid === 'number' && typeof holder.host === 'string' && typeof holder.token === 'string' && typeof holder.since === 'string') {
    return { pid: holder.pid, host: holder.host, token: holder.token, since: holder.since };
  }
  return undefined;
}
