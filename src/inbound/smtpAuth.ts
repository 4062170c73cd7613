import { randomBytes } from 'node:crypto';
import { parsePasswordHash, type PasswordHash } from '../config/password-hash.js';
import type { AuthConfig } from '../config/types.js';
import { AuthFailureLimiter } from './authFailureLimiter.js';
import { HASH_BYTES, NEW_HASH_PARAMETERS, SALT_BYTES, verifyPassword } from './passwords.js';

export type AuthOutcome = 'authenticated' | 'rejected' | 'throttled';

/**
 * Checks SMTP AUTH credentials against `auth.users`, shared by every listener so that
 * the failure limit counts per client IP across all of them.
 */
export class SmtpAuthenticator {
  private readonly users: Map<string, PasswordHash>;
  /** Checked for unknown users, so that they cost the same scrypt work as known ones. */
  private readonly decoy: PasswordHash;
  private readonly limiter: AuthFailureLimiter;
  readonly maxFailuresPerIp: number;

  constructor(auth: AuthConfig) {
    this.maxFailuresPerIp = auth.maxFailuresPerIp;
    this.limiter = new AuthFailureLimiter(auth.maxFailuresPerIp);
    this.users = new Map(
      auth.users.map((user) => {
        const parsed = parsePasswordHash(user.passwordHash);
        // the config loader has already refused unusable hashes
        if (!parsed) throw new Error(`auth.users: the passwordHash of "${user.name}" is not a usable scrypt hash`);
        return [user.name, parsed];
      }),
    );
    const model = this.users.values().next().value ?? { ...NEW_HASH_PARAMETERS, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };
    this.decoy = { ...model, salt: randomBytes(model.salt.length), hash: randomBytes(model.hash.length) };
  }

  async check(clientIp: string, username: string, password: string): Promise<AuthOutcome> {
    const attempt = this.limiter.begin(clientIp);
    if (!attempt) return 'throttled';
    const known = this.users.get(username);
    try {
      const matches = await verifyPassword(password, known ?? this.decoy);
      if (!matches || !known) return 'rejected';
    } catch (err) {
      attempt.release();
      throw err;
    }
    attempt.release();
    return 'authenticated';
  }
}
