import { resolve } from 'node:path';
import type { MapReader } from './reader.js';
import { readKey, readKeys } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { CONFIG_KEYS, DELIVERY_KEYS, DNS_KEYS, LOG_KEYS, QUEUE_KEYS, REPORT_KEYS, SERVER_KEYS, SMTP_KEYS } from './keys.js';
import { qualifiedHostname } from './hostname.js';
import type { Config, ConfigPlaces } from './types.js';

// The sections made only of independent values: no checks across fields.

/** `systemHostname`: the name the system goes by (the CLI finds its qualified form, systemHostname.ts). */
export function readServer(root: MapReader, systemHostname: string): { server: Config['server']; places: ConfigPlaces } {
  const section = root.section('server', keyNames(SERVER_KEYS));
  const { hostname } = readKeys(section, SERVER_KEYS);
  return {
    server: { hostname: hostname ?? qualifiedHostname(systemHostname, []) },
    places: section.placesOf('hostname', 'server.hostname'),
  };
}

export function readDns(root: MapReader): Config['dns'] {
  return readKeys(root.section('dns', keyNames(DNS_KEYS)), DNS_KEYS);
}

export function readQueue(root: MapReader, configDir: string): { queue: Config['queue']; places: ConfigPlaces } {
  const section = root.section('queue', keyNames(QUEUE_KEYS));
  const queue = readKeys(section, QUEUE_KEYS);
  return { queue: { ...queue, dir: resolve(configDir, queue.dir) }, places: section.placesOf('dir', 'queue.dir') };
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

export function readLog(root: MapReader): Config['log'] {
  return readKeys(root.section('log', keyNames(LOG_KEYS)), LOG_KEYS);
}
