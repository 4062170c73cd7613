/** The parts of a PHC-style scrypt hash, as `tlsrelay hash-password` writes it. */
export interface PasswordHash {
  /** log2 of scrypt's cost N. */
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** The shape of the hash; the JSON Schema uses it as it is, parsePasswordHash checks the numbers too. */
export const PHC_SCRYPT_PATTERN = String.raw`\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})`;

const PHC_SCRYPT = new RegExp(`^${PHC_SCRYPT_PATTERN}$`);

// scrypt needs 128·r·N bytes per check; beyond this, every AUTH attempt would be a
// denial of service against the relay itself. Callers pass at least this as maxmem.
export const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;
const MAX_PARALLELISM = 16;
const MIN_SALT_BYTES = 8;
const MIN_HASH_BYTES = 16;

/** Base64 as PHC writes it (unpadded; padding tolerated), refusing anything that would not round-trip. */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '') ? bytes : undefined;
}

/**
 * `$scrypt$ln=<int>,r=<int>,p=<int>$<base64 salt>$<base64 hash>` → its parts, or undefined
 * when malformed or when the parameters are too weak or too costly to be usable.
 */
export function parsePasswordHash(text: string): PasswordHash | undefined {
  const match = PHC_SCRYPT.exec(text);
  if (!match) return undefined;
  const [ln, r, p] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  const salt = decodeBase64(match[4] ?? '');
  const hash = decodeBase64(match[5] ?? '');
  if (ln < 1 || r < 1 || p < 1 || p > MAX_PARALLELISM) return undefined;
  if (128 * r * 2 ** ln > MAX_SCRYPT_MEMORY) return undefined;
  if (!salt || !hash || salt.length < MIN_SALT_BYTES || hash.length < MIN_HASH_BYTES) return undefined;
  return { ln, r, p, salt, hash };
}
