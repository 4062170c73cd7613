// Either 64 hex digits or 32 colon-separated pairs, as `openssl x509 -fingerprint` prints them.
const SHA256_FINGERPRINT = /^sha256:([0-9a-f]{64}|[0-9a-f]{2}(?::[0-9a-f]{2}){31})$/i;

/** `sha256:` + 64 hex digits (colons and case free) → lower-case hex without colons. */
export function parseFingerprint(text: string): string | undefined {
  const match = SHA256_FINGERPRINT.exec(text);
  return match ? (match[1] ?? '').replace(/:/g, '').toLowerCase() : undefined;
}
