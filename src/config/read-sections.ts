import { resolve } from 'node:path';
import type { MapReader } from './reader.js';
import { readKey, readKeys } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { CONFIG_KEYS, DELIVERY_KEYS, DNS_KEYS, LOG_KEYS, QUEUE_KEYS, REPORT_KEYS, SERVER_KEYS, SMTP_KEYS, TLS_RPT_KEYS } from './keys.js';
import { defaultHostname } from './defaults.js';
import type { Config } from './types.js';

// The sections made only of independent values: no checks across fields.

export function readServer(root: MapReader): Config['server'] {
  const { hostname } = readKeys(root.section('server', keyNames(SERVER_KEYS)), SERVER_KEYS);
  return { hostname: hostname ?? defaultHostname() };
}

export function readDns(root: MapReader): Config['dns'] {
  return readKeys(root.section('dns', keyNames(DNS_KEYS)), DNS_KEYS);
}

export function readQueue(root: MapReader, configDir: string): Config['queue'] {
  const queue = readKeys(root.section('queue', keyNames(QUEUE_KEYS)), QUEUE_KEYS);
  // the default is relative to the config file's folder, as a path written there would be
  return { ...queue, dir: resolve(configDir, queue.dir) };
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
