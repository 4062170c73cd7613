/**
 * A PostgreSQL connection URL as `pg` reads it (`postgres://user:password@host:port/db`,
 * `postgresql://…`, `?host=/run/postgresql` for a Unix socket), or undefined. The password
 * in it is a secret: messages and `config show` print redactDatabaseUrl's form.
 */
export function parseDatabaseUrl(value: string): string | undefined {
  const trimmed = value.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return undefined;
  return trimmed;
}

/** The URL with its password (if any) as `***`. */
export function redactDatabaseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '[redacted]';
  }
}
