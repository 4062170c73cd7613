import { randomBytes } from 'node:crypto';
import { parsePasswordHash, type PasswordHash } from '../config/password-hash.js';
import type { AuthConfig } from '../config/types.js';
import { AuthFailureLimiter } from './authFailureLimiter.js';
import { HASH_BYTES, NEW_HASH_PARAMETERS, SALT_BYTES, verifyPassword } from '../config/passwords.js';

export type AuthOutcome = 'authenticated' | 'rejected' | 'throttled';

interface Accounts {
  users: Map<string, PasswordHash>;
  /** Checked for unknown users, so that they cost the same scrypt work as known ones. */
  decoy: PasswordHash;
}

function accountsOf(auth: AuthConfig): Accounts {
  const users = new Map(
    auth.users.map((user) => {
      const parsed = parsePasswordHash(user.passwordHash);
      // the config loader has already refused unusable hashes
      if (!parsed) throw new Error(`auth.users: the passwordHash of "${user.name}" is not a usable scrypt hash`);
      return [user.name, parsed];
    }),
  );
  const model = users.values().next().value ?? { ...NEW_HASH_PARAMETERS, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };
  return { users, decoy: { ...model, salt: randomBytes(model.salt.length), hash: randomBytes(model.hash.length) } };
}

/**
 * Checks SMTP AUTH credentials against `auth.users`, shared by every listener so that
 * the failure limit counts per client IP across all of them.
 */
export class SmtpAuthenticator {
  private accounts: Accounts;
  private readonly limiter: AuthFailureLimiter;

  constructor(auth: AuthConfig) {
    this.limiter = new AuthFailureLimiter(auth.maxFailuresPerIp);
    this.accounts = accountsOf(auth);
  }

  get maxFailuresPerIp(): number {
    return this.limiter.maxFailures;
  }

  /**
   * SIGHUP: the new users and limit, for every AUTH from now on. The failures counted so
   * far still count, or a reload would hand each guessing client a fresh allowance.
   */
  reconfigure(auth: AuthConfig): void {
    this.accounts = accountsOf(auth);
    this.limiter.maxFailures = auth.maxFailuresPerIp;
  }

  async check(clientIp: string, username: string, password: string): Promise<AuthOutcome> {
    const attempt = this.limiter.begin(clientIp);
    if (!attempt) return 'throttled';
    const { users, decoy } = this.accounts;
    const known = users.get(username);
    try {
      const matches = await verifyPassword(password, known ?? decoy);
      if (!matches || !known) return 'rejected';
    } catch (err) {
      attempt.release();
      throw err;
    }
    attempt.release();
    return 'authenticated';
  }
}
