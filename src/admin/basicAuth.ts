import { createHash, timingSafeEqual } from 'node:crypto';
import { parsePasswordHash } from '../config/password-hash.js';
import { verifyPassword } from '../config/passwords.js';

/** The only user of the admin listener. */
export const ADMIN_USER = 'admin';

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
 * Checks the admin password against admin.passwordHash. A scrypt check costs ~0.2 s of
 * CPU, and Prometheus sends the same header every scrape: the digest of the last password
 * that passed is kept (never the password) and compared in constant time first.
 */
export class AdminPassword {
  private passed: Buffer | undefined;

  constructor(private readonly stored: string) {}

  async accepts(header: string | undefined): Promise<boolean> {
    const password = basicPassword(header);
    const hash = parsePasswordHash(this.stored);
    if (password === undefined || hash === undefined) return false;
    const candidate = digest(password);
    if (this.passed !== undefined && timingSafeEqual(candidate, this.passed)) return true;
    if (!(await verifyPassword(password, hash))) return false;
    this.passed = candidate;
    return true;
  }
}
