import type { ValueReader } from './reader.js';
import * as values from './values.js';
import * as patterns from './schema-patterns.js';
import { redactDatabaseUrl } from './database-url.js';
import { formatDuration } from './duration.js';
import { formatHostPort, type HostKind } from './host-port.js';
import type { HostPort } from './types.js';

// The types of config values. Each puts side by side what the loader reads, the JSON
// Schema an editor checks, the words of the reference and how `config show` writes a
// value back: one type, four views, so they change together.

/** A JSON Schema (draft-07) fragment. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A value as a config file writes it. */
export type Written = string | number | boolean | null | readonly Written[] | { readonly [key: string]: Written };

export interface KeyType<T> {
  /** The reference's Type column: `duration`, `integer, 1–65535`, `list of CIDRs`. */
  readonly name: string;
  /** The terms `name` uses and how a value of each is written, for the reference's list of types. */
  readonly terms: Readonly<Record<string, string>>;
  /** The schema of a value as written; null (the key left empty) is the key generator's business. */
  readonly schema: JsonSchema;
  readonly read: ValueReader<T>;
  /** The value as a config would write it: durations back to `5m`, secrets never. A method, so that KeyType<string> is a KeyType<unknown>. */
  write(value: T): Written;
}
const asIs = <T extends Written>(value: T): Written => value;

/**
 * A type written as text of one form. `term` says how, in the reference's list of types
 * under `termName` (the type's name unless given); `write` is the identity unless given.
 */
function textual<T extends string>(spec: { name: string; termName?: string; term: string; pattern: string; read: ValueReader<T> }): KeyType<T>;
function textual<T>(spec: { name: string; termName?: string; term: string; pattern: string; read: ValueReader<T>; write(value: T): Written }): KeyType<T>;
function textual<T>(spec: { name: string; termName?: string; term: string; pattern: string; read: ValueReader<T>; write?(value: T): Written }): KeyType<T> {
  return {
    name: spec.name,
    terms: { [spec.termName ?? spec.name]: spec.term },
    // the YAML language server shows patternErrorMessage instead of the pattern itself
    schema: { type: 'string', pattern: patterns.anchored(spec.pattern), patternErrorMessage: spec.term },
    read: spec.read,
    write: spec.write ?? ((value: T) => value as Written),
  };
}

const TEXT_TERM = 'Any text that is not empty; quote it when YAML would read it as a number or `true`/`false`.';

export const text: KeyType<string> = { name: 'text', terms: { text: TEXT_TERM }, schema: { type: 'string', pattern: '\\S' }, read: values.text, write: asIs };

const RELATIVE = 'a relative path is relative to the folder of the config file';

export const path: KeyType<string> = { name: 'path', terms: { path: `A file or folder; ${RELATIVE}.` }, schema: text.schema, read: values.path, write: asIs };

/** A path to a file that must be readable when the config is loaded. */
export const file: KeyType<string> = {
  name: 'file',
  terms: { file: `The path of a file that exists and can be read when the config is loaded; ${RELATIVE}.` },
  schema: text.schema,
  read: values.readableFile,
  write: asIs,
};

export const boolean: KeyType<boolean> = {
  name: 'boolean',
  terms: { boolean: '`true` or `false`, unquoted (`yes`, `on` and `"true"` are refused).' },
  schema: { type: 'boolean' },
  read: values.boolean,
  write: asIs,
};

/** `true`, `false`, or a name that the loader checks against the names given elsewhere. */
export function booleanOrName(what: string): KeyType<boolean | string> {
  return {
    name: `boolean or ${what}`,
    terms: boolean.terms,
    schema: { type: ['boolean', 'string'], pattern: '\\S' },
    read: values.booleanOrName,
    write: asIs,
  };
}

export function integer(min: number, max?: number): KeyType<number> {
  return {
    name: max === undefined ? `integer, ${min} or more` : `integer, ${min}–${max}`,
    terms: { integer: 'A whole number, unquoted.' },
    schema: { type: 'integer', minimum: min, ...(max === undefined ? {} : { maximum: max }) },
    read: values.integer(min, max),
    write: asIs,
  };
}

export function oneOf<T extends string>(choices: readonly T[]): KeyType<T> {
  return {
    name: choices.map((choice) => `\`${choice}\``).join(' | '),
    terms: {},
    schema: { type: 'string', enum: [...choices] },
    read: values.oneOf(choices),
    write: asIs,
  };
}

const DURATION_TERM = 'A whole number and a unit — `s`, `m`, `h` or `d`: `30s`, `5m`, `2h`, `2d`; longer than 0. Where the value ends up in a timer, at most 24 days.';

/** Longer than 0 and at most `max` ms (a timer's limit where the value ends up in one). */
export function duration(max = Number.MAX_SAFE_INTEGER): KeyType<number> {
  return textual({
    name: max < Number.MAX_SAFE_INTEGER ? `duration, at most ${formatDuration(Math.floor(max / 86_400_000) * 86_400_000)}` : 'duration',
    termName: 'duration',
    term: DURATION_TERM,
    pattern: patterns.duration(max),
    read: values.duration(max),
    write: formatDuration,
  });
}

/** A duration from `min` to 1d that divides a day: a reporting period aligned to 00:00 UTC. */
export function dayDivisor(min: number): KeyType<number> {
  return textual({
    name: `duration, ${formatDuration(min)} to 1d, dividing a day`,
    termName: 'duration',
    term: DURATION_TERM,
    pattern: patterns.duration(86_400_000),
    read: values.dayDivisor(min),
    write: formatDuration,
  });
}

export const mailAddress: KeyType<string> = textual({
  name: 'mail address',
  term: 'An address such as `tls-reports@example.test`: a local part of letters, digits, dots and ``!#$%&\'*+/=?^_`{|}~-``, `@`, a host name.',
  pattern: patterns.MAIL_ADDRESS,
  read: values.mailAddress,
});

export const hostName: KeyType<string> = textual({
  name: 'host name',
  term: 'A DNS name such as `mail.example.test`; Unicode and punycode are the same name, case and a trailing dot do not matter. Not an IP address.',
  pattern: patterns.HOST_NAME,
  read: values.hostName,
});

export const ipAddress: KeyType<string> = textual({
  name: 'IP address',
  term: 'IPv4 (`192.0.2.1`) or IPv6 (`2001:db8::1`, `"::"`); quote a value that starts with `:`.',
  pattern: patterns.IP_ADDRESS,
  read: values.ipAddress,
});

export const cidr: KeyType<string> = textual({
  name: 'CIDR',
  term: 'An address range, `192.0.2.0/24` or `2001:db8::/32`; a bare address is that one host (`/32`, `/128`).',
  pattern: patterns.CIDR,
  read: values.cidr,
});

export function domainPattern(options: { allowStar: boolean }): KeyType<string> {
  return textual({
    name: options.allowStar ? 'domain pattern or `"*"`' : 'domain pattern',
    termName: 'domain pattern',
    term: 'A domain (`example.test`) or all the domains below one (`"*.example.test"`, any depth); quote a pattern that starts with `*`, or YAML reads it as an alias. `"*"` alone, every domain, only where the type says so.',
    pattern: patterns.domainPattern(options.allowStar),
    read: values.domainPattern(options),
  });
}

export function hostPort(defaultPort: number, kind: HostKind): KeyType<HostPort> {
  const name = kind === 'ip' ? 'ip[:port]' : 'host[:port]';
  const forms = kind === 'ip' ? '`192.0.2.53`, `192.0.2.53:5353`, `[2001:db8::53]:5353`' : '`mx.example.test`, `mx.example.test:2626`, `192.0.2.25:2626`, `[2001:db8::25]:2626`';
  return textual({
    name,
    term: `${kind === 'ip' ? 'An IP address' : 'A host name or IP address'} and a port (1–65535), the port ${defaultPort} when left out: ${forms}. An IPv6 address with a port goes in brackets.`,
    pattern: patterns.hostPort(kind),
    read: values.hostPort(defaultPort, kind),
    write: formatHostPort,
  });
}

export const fingerprint: KeyType<string> = textual({
  name: 'fingerprint',
  term: '`sha256:` and the 64 hex digits of a SHA-256 digest, colons and case free (`openssl x509 -noout -fingerprint -sha256` prints one).',
  pattern: patterns.FINGERPRINT,
  read: values.fingerprint,
  write: (hex: string) => `sha256:${hex}`,
});

export const passwordHash: KeyType<string> = textual({
  name: 'password hash',
  term: 'What `tlsrelay hash-password` prints: `$scrypt$ln=…,r=…,p=…$salt$hash`, in quotes. `config show` prints `[redacted]` instead.',
  pattern: patterns.PASSWORD_HASH,
  read: values.passwordHash,
  write: () => '[redacted]',
});

export const databaseUrl: KeyType<string> = textual({
  name: 'database URL',
  term: 'A PostgreSQL connection URL, `postgres://USER@HOST:PORT/DATABASE` (or `postgresql://`; `?host=/run/postgresql` for a Unix socket), as libpq reads it. A password in it is printed as `***` by `config show`; rather leave it out and set `PGPASSWORD` (or a `~/.pgpass`), which the client reads.',
  pattern: patterns.DATABASE_URL,
  read: values.databaseUrl,
  write: (url: string) => redactDatabaseUrl(url),
});

export const cipherList: KeyType<string> = {
  name: 'cipher list',
  terms: { 'cipher list': 'An OpenSSL cipher list (`openssl ciphers -v LIST` shows what it means) that OpenSSL accepts; for TLS 1.2, as TLS 1.3 suites are always forward secret.' },
  schema: text.schema,
  read: values.cipherList,
  write: asIs,
};

export interface ListType<T> extends KeyType<T[]> {
  readonly item: KeyType<T>;
  readonly nonEmpty: boolean;
}

export function listOf<T>(item: KeyType<T>, options: { nonEmpty: boolean } = { nonEmpty: false }): ListType<T> {
  return {
    item,
    nonEmpty: options.nonEmpty,
    name: `list of ${item.name}${options.nonEmpty ? ', not empty' : ''}`,
    terms: item.terms,
    schema: { type: 'array', items: item.schema, ...(options.nonEmpty ? { minItems: 1 } : {}) },
    read: values.listOf(item.read, options),
    write: (list: T[]) => list.map((value) => item.write(value)),
  };
}
