import { DEFAULT_CIPHERS, type ListenerConfig, type OutboundConnector } from './types.js';

// The values a key takes when the config leaves it out, in one place; the key table
// (keys.ts) hands them to the loader and shows them in the reference. Durations are milliseconds.

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const LISTENER_DEFAULTS = { address: '127.0.0.1', tls: 'starttls', auth: 'none' } as const;

export const DEFAULT_LISTENER: Readonly<ListenerConfig> = { name: 'smtp', ...LISTENER_DEFAULTS, port: 2525 };

export const TLS_DEFAULTS = { generateIfMissing: false, ocsp: 'off', ocspStapling: true, minVersion: 'TLSv1.2', ciphers: DEFAULT_CIPHERS } as const;

export const DNS_PORT = 53;

export const DNS_DEFAULTS = { dnssec: false } as const;

export const QUEUE_DEFAULTS = {
  /** Absolute, as Postfix's /var/spool/postfix: a config in /etc/tlsrelay spools where spools go. */
  dir: '/var/spool/tlsrelay',
  store: 'lmdb',
  retry: [1 * MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, 1 * HOUR, 2 * HOUR, 4 * HOUR],
  maxAge: 2 * DAY,
  delayNotice: 4 * HOUR,
} as const;

/** A lease as long as the other stores' stale-claim limit (CLAIM_STALE_MS), the most the issue allows by default. */
export const POSTGRES_DEFAULTS = { leaseSeconds: 60, poolSize: 20 } as const;

export const REPORT_DEFAULTS = { retention: 30 * DAY } as const;

/** organization and contact default to server.hostname and postmaster@ it. */
export const TLS_RPT_DEFAULTS = { enabled: false, interval: DAY } as const;

/** The shortest tlsRpt.interval: for tests, which cannot wait a day. */
export const MIN_TLS_RPT_INTERVAL = 10 * SECOND;

/** The admin listener's place when the `admin` section is given (it is off when absent). */
export const ADMIN_DEFAULTS = { address: '127.0.0.1', port: 9325 } as const;

export const DELIVERY_DEFAULTS = { port: 25, concurrency: 100, perHost: 10 } as const;

export const SMTP_DEFAULTS = {
  maxMessageSize: 52_428_800,
  maxRecipients: 100,
  maxClients: 1000,
  maxConnectionsPerIp: 20,
  maxMessagesPerConnection: 100,
  maxHops: 50,
  idleTimeout: 5 * MINUTE,
  handshakeTimeout: 30 * SECOND,
  minDataRate: 500,
  bareLineEndings: 'reject',
} as const;

export const AUTH_DEFAULTS = { maxFailuresPerIp: 5 } as const;

export const LOG_DEFAULTS = { level: 'info', format: undefined } as const;

export const SMART_HOST_PORT = 25;

/** Everything of an outbound connector but its name and domains; maxAge follows queue.maxAge. */
export function outboundDefaults(maxAge: number): Omit<OutboundConnector, 'name' | 'domains'> {
  return {
    smartHosts: [],
    tls: 'opportunistic',
    tlsNames: [],
    fingerprints: [],
    minVersion: 'TLSv1.2',
    ciphers: undefined,
    crl: [],
    clientCertificate: false,
    plaintextFallback: true,
    mtaSts: true,
    maxAge,
    implicit: false,
  };
}

/** The connector for domains no configured connector names: MX routing, opportunistic TLS. */
export function implicitOutboundConnector(maxAge: number): OutboundConnector {
  return { name: 'default', domains: ['*'], ...outboundDefaults(maxAge), implicit: true };
}
