import { createHash, timingSafeEqual } from 'node:crypto';
import { parsePasswordHash } from '../config/password-hash.js';
import { verifyPassword } from '../config/passwords.js';

/** The only user of the admin listener. */
export const ADMIN_USER = 'admin';

/** Checks waiting for their turn beyond this are refused at once: a flood of guesses must not pile up requests. */
const MAX_WAITING_CHECKS = 8;

/** The password of `Authorization: Basic …` for user `admin`, or undefined for any other header. */
export function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header?.trim() ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(0, colon) !== ADMIN_USER) return undefined;
  return decoded.slice(colon + 1);
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Checks the admin password against admin.passwordHash (of the running config: a reload
 * may change it). A scrypt check costs 32 MiB and ~0.1 s of a thread of the pool the
 * spool's fsyncs share, and Prometheus sends the same header every scrape: the digest of
 * the last password that passed is kept (never the password) and compared in constant
 * time first. Other checks run one at a time, so guesses from anyone who reaches the port
 * cannot take the pool.
 */
export class AdminPassword {
  private passed: { stored: string; digest: Buffer } | undefined;
  private turn: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  async accepts(header: string | undefined, stored: string): Promise<boolean> {
    const password = basicPassword(header);
    const hash = parsePasswordHash(stored);
    if (password === undefined || hash === undefined) return false;
    const candidate = digest(password);
    if (this.passed?.stored === stored && timingSafeEqual(candidate, this.passed.digest)) return true;
    if (this.waiting >= MAX_WAITING_CHECKS) return false;
    this.waiting++;
    const check = this.turn.then(() => verifyPassword(password, hash));
    this.turn = check.catch(() => undefined);
    try {
      if (!(await check)) return false;
    } finally {
      this.waiting--;
    }
    this.passed = { stored, digest: candidate };
    return true;
  }
}
