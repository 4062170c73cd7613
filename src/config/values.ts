import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { isScalar, isSeq, type Node } from 'yaml';
import { childField, describeNode, fail, resolveAlias, type Field, type ValueReader } from './reader.js';
import { parseDuration } from './duration.js';
import { parseCidr, type CidrParse } from './cidr.js';
import { parseDomainPattern, parseHostName } from './domain-name.js';
import { parseFingerprint } from './fingerprint.js';
import { parseMailAddress } from './mail-address.js';
import { parseHostPort, type HostKind } from './host-port.js';
import { parsePasswordHash } from './password-hash.js';
import { parseDatabaseUrl } from './database-url.js';
import { checkFile } from './file-check.js';
import type { HostPort } from './types.js';

// Value readers: one YAML node → one typed value, or a message at that node.

/** Node's timers (setTimeout, socket timeouts) overflow above 2^31-1 ms and then fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const text: ValueReader<string> = (node, field) => {
  if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') return node.value;
  if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')) {
    return fail(field, node, `expected text; got ${describeNode(node)} (quote it: "${String(node.source ?? node.value)}")`);
  }
  return fail(field, node, `expected text; got ${describeNode(node)}`);
};

/** Reads text, then parses it; `expected` says what would have been right. */
function parsedText<T>(parse: (value: string) => T | undefined, expected: string): ValueReader<T> {
  return (node, field) => {
    const value = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
    const parsed = value === undefined ? undefined : parse(value);
    return parsed ?? fail(field, node, `expected ${expected}; got ${describeNode(node)}`);
  };
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): ValueReader<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return (node, field) => {
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
    return fail(field, node, `expected an integer ${range}; got ${describeNode(node)}`);
  };
}

export const boolean: ValueReader<boolean> = (node, field) => {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  return fail(field, node, `expected true or false; got ${describeNode(node)}`);
};

/** `true`, `false`, or the name of something the config names elsewhere (a certificate). */
export const booleanOrName: ValueReader<boolean | string> = (node, field) => {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') return node.value;
  return fail(field, node, `expected true, false or a name; got ${describeNode(node)}`);
};

export function oneOf<T extends string>(values: readonly T[]): ValueReader<T> {
  return parsedText((value) => values.find((known) => known === value), `one of ${values.join(', ')}`);
}

/** A positive duration; `max` guards values that end up in a timer. */
export function duration(max = Number.MAX_SAFE_INTEGER): ValueReader<number> {
  const withDuration = parsedText(parseDuration, 'a duration such as 30s, 5m, 2h or 2d');
  return (node, field) => {
    const ms = withDuration(node, field);
    if (ms === undefined) return undefined;
    if (ms === 0) return fail(field, node, 'must be longer than 0');
    if (ms > max) return fail(field, node, `must be at most ${Math.floor(max / 86_400_000)}d (a Node.js timer limit)`);
    return ms;
  };
}

const DAY_MS = 86_400_000;

/**
 * A reporting period: a duration from `min` to a day that divides the day evenly, so that
 * periods counted from 00:00 UTC end at midnight again (RFC 8460 §4.1 asks for whole days).
 */
export function dayDivisor(min: number): ValueReader<number> {
  const withDuration = duration(DAY_MS);
  return (node, field) => {
    const ms = withDuration(node, field);
    if (ms === undefined) return undefined;
    if (ms < min) return fail(field, node, `must be at least ${min / 1000}s`);
    if (DAY_MS % ms !== 0) return fail(field, node, 'must divide a day evenly (such as 10s, 1m, 5m, 1h, 6h, 1d), so that its periods end at 00:00 UTC');
    return ms;
  };
}

/** A path, absolute after resolving against the config file's folder. */
export const path: ValueReader<string> = (node, field) => {
  const value = text(node, field);
  return value === undefined ? undefined : resolve(field.ctx.dir, value);
};

/** A path to a file that must be readable now. */
export const readableFile: ValueReader<string> = (node, field) => {
  const file = path(node, field);
  if (file === undefined) return undefined;
  const check = checkFile(file);
  if (check.state === 'readable') return file;
  return fail(field, node, check.state === 'unusable' ? `cannot read ${file}: ${check.reason}` : `file not found: ${file}`);
};

export const hostName = parsedText(parseHostName, 'a host name such as mail.example.test');

export const mailAddress = parsedText(parseMailAddress, 'a mail address such as tls-reports@example.test');

export const ipAddress = parsedText((value) => (isIP(value) === 0 ? undefined : value.toLowerCase()), 'an IP address');

const CIDR_EXPECTED = 'an IP address or CIDR range such as 192.0.2.0/24 or 2001:db8::/32';

export const cidr: ValueReader<string> = (node, field) => {
  const parsed: CidrParse = isScalar(node) && typeof node.value === 'string' ? parseCidr(node.value) : { ok: false };
  if (parsed.ok) return parsed.range;
  return fail(field, node, parsed.why === undefined ? `expected ${CIDR_EXPECTED}; got ${describeNode(node)}` : `${describeNode(node)}: ${parsed.why}`);
};

export const fingerprint = parsedText(parseFingerprint, 'sha256: followed by 64 hex digits (colons allowed)');

export function domainPattern(options: { allowStar: boolean }): ValueReader<string> {
  const base = parsedText(parseDomainPattern, 'a domain such as example.test, a pattern such as "*.example.test"' + (options.allowStar ? ', or "*"' : ''));
  return (node, field) => {
    const pattern = base(node, field);
    if (pattern === '*' && !options.allowStar) return fail(field, node, '"*" is not allowed here; name the domains');
    return pattern;
  };
}

export function hostPort(defaultPort: number, kind: HostKind): ValueReader<HostPort> {
  const forms = kind === 'ip' ? 'ip[:port] such as 192.0.2.53 or [2001:db8::53]:53' : 'host[:port] such as mx.example.test, 192.0.2.25:2626 or [2001:db8::25]:2626';
  return parsedText((value) => parseHostPort(value, defaultPort, kind), `${forms} (port 1-65535, ${defaultPort} when left out)`);
}

/** Kept as written: the auth room re-parses it with parsePasswordHash. Never echoed in messages. */
export const passwordHash: ValueReader<string> = (node, field) => {
  const value = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
  if (value !== undefined && parsePasswordHash(value)) return value;
  return fail(field, node, 'expected an scrypt hash from `tlsrelay hash-password`: $scrypt$ln=<int>,r=<int>,p=<int>$<base64 salt>$<base64 hash>');
};

/** A PostgreSQL URL. The message never repeats the value: it may hold a password. */
export const databaseUrl: ValueReader<string> = (node, field) => {
  const value = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
  const parsed = value === undefined ? undefined : parseDatabaseUrl(value);
  return parsed ?? fail(field, node, 'expected a PostgreSQL URL: postgres://USER@HOST:PORT/DATABASE (the password is best left to PGPASSWORD)');
};

/** An OpenSSL cipher list that OpenSSL itself accepts. */
export const cipherList: ValueReader<string> = (node, field) => {
  const value = text(node, field);
  if (value === undefined) return undefined;
  try {
    createSecureContext({ ciphers: value });
    return value;
  } catch (err) {
    return fail(field, node, `OpenSSL rejects this cipher list: ${(err as Error).message}`);
  }
};

/** A YAML list. Every bad item is reported; then the list as a whole counts as bad. */
export function listOf<T>(item: ValueReader<T>, options: { nonEmpty: boolean } = { nonEmpty: false }): ValueReader<T[]> {
  return (node: Node, field: Field) => {
    if (!isSeq(node)) return fail(field, node, `expected a list; got ${describeNode(node)}`);
    if (options.nonEmpty && node.items.length === 0) return fail(field, node, 'must not be empty');
    const values = node.items.map((raw, index) => {
      const itemField = childField(field, index);
      const itemNode = resolveAlias(raw as Node, itemField);
      return itemNode === undefined ? undefined : item(itemNode, itemField);
    });
    return values.every((value) => value !== undefined) ? (values as T[]) : undefined;
  };
}
