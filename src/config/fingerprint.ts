const HEX = '[0-9a-fA-F]';

/**
 * `sha256:` (any case), then 64 hex digits or 32 colon-separated pairs, as
 * `openssl x509 -fingerprint` prints them. Without flags, so that the JSON Schema can use it as it is.
 */
export const SHA256_FINGERPRINT_PATTERN = `[sS][hH][aA]256:(${HEX}{64}|${HEX}{2}(?::${HEX}{2}){31})`;

const SHA256_FINGERPRINT = new RegExp(`^${SHA256_FINGERPRINT_PATTERN}$`);

/** `sha256:` + 64 hex digits (colons and case free) → lower-case hex without colons. */
export function parseFingerprint(text: string): string | undefined {
  const match = SHA256_FINGERPRINT.exec(text);
  return match ? (match[1] ?? '').replace(/:/g, '').toLowerCase() : undefined;
}

/** Lower-case hex → the form a config pins it in (`sha256:` + 64 hex): what `policy explain` and `cert info` print. */
export function formatFingerprint(hex: string): string {
  return `sha256:${hex}`;
}
