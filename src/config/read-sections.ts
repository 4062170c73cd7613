import { resolve } from 'node:path';
import type { MapReader } from './reader.js';
import { domainPattern, duration, hostName, hostPort, integer, listOf, MAX_TIMER_MS, oneOf, path } from './values.js';
import { defaultHostname, DELIVERY_DEFAULTS, DNS_PORT, LOG_DEFAULTS, QUEUE_DEFAULTS, SMTP_DEFAULTS } from './defaults.js';
import { BARE_LINE_ENDING_MODES, LOG_LEVELS, type Config } from './types.js';

// The sections made only of independent scalars: no checks across fields.

export function readServer(root: MapReader): Config['server'] {
  const section = root.section('server', ['hostname']);
  return { hostname: section.read('hostname', hostName) ?? defaultHostname() };
}

export function readDns(root: MapReader): Config['dns'] {
  const section = root.section('dns', ['servers']);
  // Empty: the system resolver. DNS servers must be addresses: a name would need DNS first.
  return { servers: section.optional('servers', listOf(hostPort(DNS_PORT, 'ip')), []) };
}

export function readQueue(root: MapReader, configDir: string): Config['queue'] {
  const section = root.section('queue', ['dir', 'retry', 'maxAge', 'delayNotice']);
  return {
    dir: section.optional('dir', path, resolve(configDir, QUEUE_DEFAULTS.dir)),
    retry: section.optional('retry', listOf(duration(MAX_TIMER_MS), { nonEmpty: true }), [...QUEUE_DEFAULTS.retry]),
    maxAge: section.optional('maxAge', duration(), QUEUE_DEFAULTS.maxAge),
    delayNotice: section.optional('delayNotice', duration(), QUEUE_DEFAULTS.delayNotice),
  };
}

export function readDelivery(root: MapReader): Config['delivery'] {
  const section = root.section('delivery', ['port', 'concurrency', 'perHost']);
  return {
    port: section.optional('port', integer(1, 65535), DELIVERY_DEFAULTS.port),
    concurrency: section.optional('concurrency', integer(1), DELIVERY_DEFAULTS.concurrency),
    perHost: section.optional('perHost', integer(1), DELIVERY_DEFAULTS.perHost),
  };
}

export function readSmtp(root: MapReader): Config['smtp'] {
  const section = root.section('smtp', [
    'maxMessageSize', 'maxRecipients', 'maxClients', 'maxConnectionsPerIp', 'maxMessagesPerConnection', 'maxHops', 'idleTimeout',
    'handshakeTimeout', 'bareLineEndings',
  ]);
  return {
    maxMessageSize: section.optional('maxMessageSize', integer(1), SMTP_DEFAULTS.maxMessageSize),
    maxRecipients: section.optional('maxRecipients', integer(1), SMTP_DEFAULTS.maxRecipients),
    maxClients: section.optional('maxClients', integer(1), SMTP_DEFAULTS.maxClients),
    maxConnectionsPerIp: section.optional('maxConnectionsPerIp', integer(1), SMTP_DEFAULTS.maxConnectionsPerIp),
    maxMessagesPerConnection: section.optional('maxMessagesPerConnection', integer(1), SMTP_DEFAULTS.maxMessagesPerConnection),
    maxHops: section.optional('maxHops', integer(1), SMTP_DEFAULTS.maxHops),
    idleTimeout: section.optional('idleTimeout', duration(MAX_TIMER_MS), SMTP_DEFAULTS.idleTimeout),
    handshakeTimeout: section.optional('handshakeTimeout', duration(MAX_TIMER_MS), SMTP_DEFAULTS.handshakeTimeout),
    bareLineEndings: section.optional('bareLineEndings', oneOf(BARE_LINE_ENDING_MODES), SMTP_DEFAULTS.bareLineEndings),
  };
}

export function readAcceptedDomains(root: MapReader): string[] {
  // "*" would accept mail for every domain and pass it on: an open relay.
  return root.optional('acceptedDomains', listOf(domainPattern({ allowStar: false })), []);
}

export function readLog(root: MapReader): Config['log'] {
  const section = root.section('log', ['level']);
  return { level: section.optional('level', oneOf(LOG_LEVELS), LOG_DEFAULTS.level) };
}
