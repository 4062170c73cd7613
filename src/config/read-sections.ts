import { resolve } from 'node:path';
import { fail, warn, type MapReader } from './reader.js';
import { isLoopback } from './ip.js';
import { readKey, readKeys } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { ADMIN_KEYS, CONFIG_KEYS, DELIVERY_KEYS, DNS_KEYS, LOG_KEYS, POSTGRES_KEYS, QUEUE_KEYS, REPORT_KEYS, SERVER_KEYS, SMTP_KEYS, TLS_RPT_KEYS } from './keys.js';
import { qualifiedHostname, unqualifiedHostnameWarning } from './hostname.js';
import type { Config, ConfigPlaces, PostgresQueueConfig } from './types.js';

// The sections made only of independent values: no checks across fields.

/**
 * `systemHostname`: the name the system goes by (the commands find its qualified form,
 * systemHostname.ts). A name without a domain is valid but warned about, at the key when
 * the file sets it, else at the server section (or the file's start).
 */
export function readServer(root: MapReader, systemHostname: string): Config['server'] {
  const section = root.section('server', keyNames(SERVER_KEYS));
  const { hostname: written } = readKeys(section, SERVER_KEYS);
  const hostname = written ?? qualifiedHostname(systemHostname, []);
  const warning = unqualifiedHostnameWarning(hostname, written !== undefined);
  if (warning !== undefined) warn(section.fieldOf('hostname'), section.placeOf('hostname'), warning);
  return { hostname };
}

export function readDns(root: MapReader): Config['dns'] {
  return readKeys(root.section('dns', keyNames(DNS_KEYS)), DNS_KEYS);
}

export function readQueue(root: MapReader, configDir: string): { queue: Config['queue']; places: ConfigPlaces } {
  const section = root.section('queue', keyNames(QUEUE_KEYS));
  const queue = readKeys(section, QUEUE_KEYS);
  const queueDir = { ...queue, dir: resolve(configDir, queue.dir) };
  if (!section.has('postgres')) return { queue: queueDir, places: section.placesOf('dir', 'queue.dir') };
  const postgresSection = section.section('postgres', keyNames(POSTGRES_KEYS));
  const { url, leaseSeconds, poolSize } = readKeys(postgresSection, POSTGRES_KEYS);
  // a missing or bad url is reported already; the config is refused then
  const postgres: PostgresQueueConfig = { url: url ?? '', leaseSeconds, poolSize };
  return { queue: { ...queueDir, postgres }, places: { ...section.placesOf('dir', 'queue.dir'), ...postgresSection.placesOf('url', 'queue.postgres.url') } };
}

export function readDelivery(root: MapReader): Config['delivery'] {
  return readKeys(root.section('delivery', keyNames(DELIVERY_KEYS)), DELIVERY_KEYS);
}

export function readSmtp(root: MapReader): Config['smtp'] {
  return readKeys(root.section('smtp', keyNames(SMTP_KEYS)), SMTP_KEYS);
}

export function readAcceptedDomains(root: MapReader): string[] {
  return readKey(root, CONFIG_KEYS, 'acceptedDomains');
}

export function readReport(root: MapReader): Config['report'] {
  return readKeys(root.section('report', keyNames(REPORT_KEYS)), REPORT_KEYS);
}

/** `hostname`: server.hostname, which organization and contact default to. */
export function readTlsRpt(root: MapReader, hostname: string): Config['tlsRpt'] {
  const { organization, contact, ...rest } = readKeys(root.section('tlsRpt', keyNames(TLS_RPT_KEYS)), TLS_RPT_KEYS);
  return { ...rest, organization: organization ?? hostname, contact: contact ?? `postmaster@${hostname}` };
}

export function readLog(root: MapReader): Config['log'] {
  return readKeys(root.section('log', keyNames(LOG_KEYS)), LOG_KEYS);
}

/**
 * Off unless the file has an `admin` section. Off loopback, anyone who reaches the port
 * would read the relay's state: there a password is required.
 */
export function readAdmin(root: MapReader): Config['admin'] {
  if (!root.has('admin')) return undefined;
  const section = root.section('admin', keyNames(ADMIN_KEYS));
  const admin = readKeys(section, ADMIN_KEYS);
  if (!section.isInvalid('address') && !isLoopback(admin.address) && admin.passwordHash === undefined && !section.isInvalid('passwordHash')) {
    fail(section.fieldOf('address'), section.placeOf('address'), `${admin.address} is not a loopback address: set admin.passwordHash (from \`tlsrelay hash-password\`) so that only the operator reads the relay's state`);
  }
  return admin;
}
