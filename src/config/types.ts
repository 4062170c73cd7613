import type { ConfigIssue } from './errors.js';

// The validated, defaulted configuration. Everything downstream reads only this shape:
// paths are absolute, durations are milliseconds, domains are normalised (see domain.ts).

export const TLS_LEVELS = ['none', 'opportunistic', 'encrypt', 'verify-ca', 'verify', 'fingerprint', 'dane', 'dane-only'] as const;
export type TlsLevel = (typeof TLS_LEVELS)[number];

/** The stores the queue can be kept in (src/queue/openQueue.ts). */
export const QUEUE_STORES = ['lmdb', 'files'] as const;
export type QueueStore = (typeof QUEUE_STORES)[number];

export const LISTENER_TLS_MODES = ['starttls', 'implicit', 'none'] as const;
export type ListenerTlsMode = (typeof LISTENER_TLS_MODES)[number];

export const AUTH_MODES = ['none', 'optional', 'required'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** tls.ocsp: whether revocation is asked of certificates' OCSP responders, and what an unanswered question means. */
export const OCSP_MODES = ['off', 'soft', 'hard'] as const;
export type OcspSetting = (typeof OCSP_MODES)[number];

export const BARE_LINE_ENDING_MODES = ['reject', 'normalize'] as const;
export type BareLineEndingMode = (typeof BARE_LINE_ENDING_MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Forward-secret suites only; TLS 1.3 suites are always forward secret. */
export const DEFAULT_CIPHERS = 'ECDHE+AESGCM:ECDHE+CHACHA20';

export interface ListenerConfig {
  name: string;
  address: string;
  port: number;
  tls: ListenerTlsMode;
  auth: AuthMode;
}

/** Values judged after loading (files, the queue database), by the config label that names them. */
export type PlaceName =
  | 'tls.cert'
  | 'tls.key'
  | 'queue.dir'
  | 'queue.postgres.url'
  | `tls.certificates[${number}].${'cert' | 'key'}`
  | `tls.trust[${number}]`
  | `tls.crl[${number}]`
  | `outbound[${number}].crl[${number}]`;

export type ConfigPlaces = Partial<Record<PlaceName, string>>;

/** One pair of tls.certificates, as the file writes it (paths absolute). */
export interface CertificateEntry {
  /** What an outbound connector's clientCertificate names it by; unique. */
  name: string | undefined;
  cert: string;
  key: string;
}

export interface TlsConfig {
  /** Absolute paths; absent when tls.certificates is used, or no listener or connector needs our certificate. */
  cert: string | undefined;
  key: string | undefined;
  /** Empty unless the file lists several pairs instead of tls.cert and tls.key (never both). */
  certificates: CertificateEntry[];
  generateIfMissing: boolean;
  trust: string[];
  crl: string[];
  ocsp: OcspSetting;
  /** Staple OCSP responses for served certificates that name a responder. */
  ocspStapling: boolean;
  minVersion: TlsVersion;
  ciphers: string;
}

export interface HostPort {
  /** Host name (normalised) or IP address (IPv6 without brackets). */
  host: string;
  port: number;
}

export interface QueueConfig {
  dir: string;
  /** Which store keeps the queue in `dir`: the embedded LMDB database, or one file per envelope and message. */
  store: QueueStore;
  /** Delays in ms; the last one repeats. Never empty. */
  retry: number[];
  maxAge: number;
  delayNotice: number;
  /** The shared queue in PostgreSQL, instead of a store in `dir`. */
  postgres?: PostgresQueueConfig;
}

export interface PostgresQueueConfig {
  url: string;
  leaseSeconds: number;
  poolSize: number;
}

export interface ReportConfig {
  /** ms: the transit record's day files are deleted once all their records are older. */
  retention: number;
}

/** RFC 8460 aggregate reports to the recipient domains that ask for them. */
export interface TlsRptConfig {
  enabled: boolean;
  /** The report's organization-name. */
  organization: string;
  /** The report's contact-info, and the sender of the reports sent by mail. */
  contact: string;
  /** ms, dividing a day: the reporting period, counted from 00:00 UTC. */
  interval: number;
}

/** The admin HTTP listener: /metrics, /healthz, /readyz. */
export interface AdminConfig {
  address: string;
  port: number;
  /** scrypt hash for HTTP Basic user `admin`; required on a non-loopback address. */
  passwordHash: string | undefined;
}

export interface DeliveryConfig {
  port: number;
  concurrency: number;
  perHost: number;
}

export interface SmtpConfig {
  maxMessageSize: number;
  maxRecipients: number;
  maxClients: number;
  maxConnectionsPerIp: number;
  /** Transactions accepted in one connection before the next MAIL FROM gets 421 and the connection closes. */
  maxMessagesPerConnection: number;
  /** Received and Delivered-To fields a message may arrive with; more is a loop: 554 5.4.6 Too many hops. */
  maxHops: number;
  /** ms: a session silent this long is closed; and the most one command line, or the message data, has from its first byte (see minDataRate). */
  idleTimeout: number;
  handshakeTimeout: number;
  /** bytes/second: each message byte in DATA earns the data 1/minDataRate s more, up to idleTimeout left. */
  minDataRate: number;
  bareLineEndings: BareLineEndingMode;
}

export interface AuthUser {
  name: string;
  passwordHash: string;
}

export interface AuthConfig {
  users: AuthUser[];
  maxFailuresPerIp: number;
}

export interface InboundMatch {
  /** CIDRs, e.g. 127.0.0.1/32, ::1/128. Absent = not a condition. */
  ips?: string[];
  /** Names (wildcards allowed) a trusted client certificate must carry. */
  certificateNames?: string[];
  senderDomains?: string[];
}

export interface InboundRequire {
  tls: boolean;
  certificateNames?: string[];
  ips?: string[];
}

export interface InboundConnector {
  name: string;
  match: InboundMatch;
  require: InboundRequire;
  relay: boolean;
}

export interface OutboundConnector {
  name: string;
  /** Normalised patterns: 'a.b.test', '*.b.test' or '*'. */
  domains: string[];
  /** Empty = route by MX on delivery.port. */
  smartHosts: HostPort[];
  tls: TlsLevel;
  tlsNames: string[];
  /** Lower-case hex SHA-256 without colons. */
  fingerprints: string[];
  minVersion: TlsVersion;
  ciphers: string | undefined;
  /** Absolute paths, on top of tls.crl. */
  crl: string[];
  /** What the connector presents when the next hop asks: `true` our first certificate, a name the pair of tls.certificates so named, `false` none. */
  clientCertificate: boolean | string;
  /** Only meaningful for opportunistic. */
  plaintextFallback: boolean;
  /** Honour the recipient domain's MTA-STS policy; always false on smart-host routes. */
  mtaSts: boolean;
  maxAge: number;
  /** True for the default connector the relay adds for domains no connector names. */
  implicit: boolean;
}

export interface Config {
  /** Absolute path of the file this came from. */
  file: string;
  /** `FILE:LINE:COL` of values judged after loading: files the tls room reads, the spool folder. */
  places: ConfigPlaces;
  /** What is valid but weaker than it looks (`tls: dane` without `dns.dnssec`): check-config prints them, start logs them. */
  warnings: ConfigIssue[];
  server: { hostname: string };
  listeners: ListenerConfig[];
  tls: TlsConfig;
  dns: {
    /** Empty: the system's resolvers. */
    servers: HostPort[];
    /** Trust the AD bit of their answers (a validating resolver the operator runs). */
    dnssec: boolean;
  };
  queue: QueueConfig;
  delivery: DeliveryConfig;
  smtp: SmtpConfig;
  auth: AuthConfig;
  acceptedDomains: string[];
  inbound: InboundConnector[];
  /** The configured connectors, in file order; the implicit default is not in this list. */
  outbound: OutboundConnector[];
  report: ReportConfig;
  tlsRpt: TlsRptConfig;
  /** Absent: no admin listener. */
  admin: AdminConfig | undefined;
  log: {
    level: LogLevel;
    /** Left out: pretty when stdout is a terminal, JSON otherwise (decided when the relay starts). */
    format: LogFormat | undefined;
  };
}
