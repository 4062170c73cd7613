import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { PasswordHash } from './password-hash.js';

/** What `tlsrelay hash-password` writes: N = 2^15, r = 8 (32 MiB per check), p = 1. */
export const NEW_HASH_PARAMETERS = { ln: 15, r: 8, p: 1 } as const;
export const SALT_BYTES = 16;
export const HASH_BYTES = 32;

// OpenSSL's own accounting (B plus V in EVP_PBE_scrypt): exactly what one check needs.
// Node's default limit of 32 MiB is too small even for the parameters written above.
function scryptMemory({ ln, r, p }: Pick<PasswordHash, 'ln' | 'r' | 'p'>): number {
  return 128 * r * (2 ** ln + p + 2);
}

/** The async scrypt: a check takes ~0.2 s of CPU and must not stall every other session. */
function derive(password: string, params: Omit<PasswordHash, 'hash'>, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, params.salt, length, { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: scryptMemory(params) }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

const phcBase64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/** A new PHC string `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const params = { ...NEW_HASH_PARAMETERS, salt: randomBytes(SALT_BYTES) };
  const hash = await derive(password, params, HASH_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${phcBase64(params.salt)}$${phcBase64(hash)}`;
}

/** Whether `password` is the one `stored` was made from; the comparison takes constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const candidate = await derive(password, stored, stored.hash.length);
  return timingSafeEqual(candidate, stored.hash);
}
