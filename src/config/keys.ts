import * as type from './key-types.js';
import { derived, fixed, list, none, REQUIRED, section, value } from './key-spec.js';
import {
  ADMIN_DEFAULTS, AUTH_DEFAULTS, DEFAULT_LISTENER, DELIVERY_DEFAULTS, DNS_DEFAULTS, DNS_PORT, LISTENER_DEFAULTS, LOG_DEFAULTS, outboundDefaults, POSTGRES_DEFAULTS, QUEUE_DEFAULTS, MIN_TLS_RPT_INTERVAL, REPORT_DEFAULTS, SMART_HOST_PORT, SMTP_DEFAULTS, TLS_DEFAULTS, TLS_RPT_DEFAULTS,
} from './defaults.js';
import { MAX_TIMER_MS } from './values.js';
import { AUTH_MODES, BARE_LINE_ENDING_MODES, LISTENER_TLS_MODES, LOG_FORMATS, LOG_LEVELS, OCSP_MODES, QUEUE_STORES, TLS_LEVELS, TLS_VERSIONS } from './types.js';

// Every config key: its type, its default and what it means. The loader takes its key
// lists (and the simple sections their readers and defaults) from here; the JSON Schema
// (schema.ts), `tlsrelay config show` (show.ts) and docs/configuration.md (reference.ts)
// are made from it. A new key is one entry here, its default in defaults.ts and its
// field in types.ts; test/config/keys.test.ts fails while the loader and this table differ.

export const SERVER_KEYS = {
  hostname: value({
    type: type.hostName,
    default: derived("the system's fully qualified name, as `hostname -f` finds it (the OS name's addresses and the names they go by, from /etc/hosts or DNS); else the short OS name, with a warning from `check-config` and `start`"),
    meaning: 'Our name: in the SMTP banner, in the EHLO we send, and the `by` of the `Received` header we add.',
  }),
};

export const LISTENER_KEYS = {
  name: value({ type: type.text, default: REQUIRED, meaning: 'Names the listener in logs and errors; unique.' }),
  address: value({ type: type.ipAddress, default: fixed(LISTENER_DEFAULTS.address), meaning: 'The address to listen on: `0.0.0.0` or `"::"` for every interface.' }),
  port: value({
    type: type.integer(0, 65535),
    default: REQUIRED,
    meaning: '`25` for MX traffic, `587` for submission, `465` with `tls: implicit`; `0` lets the system pick a free port. Two listeners cannot share an address and port.',
  }),
  tls: value({
    type: type.oneOf(LISTENER_TLS_MODES),
    default: fixed(LISTENER_DEFAULTS.tls),
    meaning: '`starttls`: plaintext greeting, STARTTLS offered; `implicit`: TLS from the first byte (port 465); `none`: no TLS, so no AUTH and no client certificates. `starttls` and `implicit` need our certificate (`tls.cert`, `tls.key`).',
  }),
  auth: value({
    type: type.oneOf(AUTH_MODES),
    default: fixed(LISTENER_DEFAULTS.auth),
    meaning: 'SMTP AUTH (PLAIN, LOGIN) against `auth.users`: `optional` offers it, `required` takes mail only after it, `none` does not offer it. Offered only after TLS, so not with `tls: none`.',
  }),
};

/** Replacing a served file takes no restart: the folders of these files are watched. */
const WATCHED = 'Its folder is watched: a replacement (written in place as acme.sh does, renamed over it, or a symlink re-pointed as certbot does) is served to new sessions within seconds; one that does not load is refused in the log and the pair loaded before keeps serving.';

export const CERTIFICATE_KEYS = {
  name: value({
    type: type.text,
    default: none('no name'),
    meaning: 'What an outbound connector\'s `clientCertificate` calls this pair; unique.',
  }),
  cert: value({ type: type.file, default: REQUIRED, meaning: `A certificate (PEM, intermediates after it). ${WATCHED}` }),
  key: value({ type: type.file, default: REQUIRED, meaning: 'Its private key (PEM). Its contents are never logged or printed.' }),
};

export const TLS_KEYS = {
  cert: value({
    type: type.file,
    default: none('no certificate: then only `tls: none` listeners, and no `clientCertificate`'),
    meaning: `Our certificate (PEM, intermediates after it): served to clients, and presented to next hops whose outbound connector has \`clientCertificate: true\`. Goes with \`tls.key\`. ${WATCHED}`,
  }),
  key: value({ type: type.file, default: none('—'), meaning: 'The private key of `tls.cert` (PEM). Its contents are never logged or printed.' }),
  certificates: list({
    item: CERTIFICATE_KEYS,
    nonEmpty: false,
    default: derived('`tls.cert` and `tls.key`, the one pair'),
    meaning:
      "Several certificates instead of `tls.cert` and `tls.key` (not both): an RSA and an ECDSA pair side by side, or one per name. Of each key type, a client is served the first certificate whose names (SAN) match the name it asks for (SNI); one that asks for no name, or for one no certificate has, is served as if it had asked for the first certificate's name — so pairs of other key types for the same names go with it, and the client's signature algorithms choose. Outbound, `clientCertificate: true` presents the first, `clientCertificate: NAME` the one so named.",
  }),
  generateIfMissing: value({
    type: type.boolean,
    default: fixed(TLS_DEFAULTS.generateIfMissing),
    meaning: 'When neither `tls.cert` nor `tls.key` exists, create a self-signed pair there at start (with a warning in the log): for a first start and for tests. Otherwise a missing file is a config error.',
  }),
  trust: value({
    type: type.listOf(type.file),
    default: fixed([]),
    meaning: "CA certificates (PEM) trusted on top of the system roots, for next hops' and clients' certificates.",
  }),
  crl: value({
    type: type.listOf(type.file),
    default: fixed([]),
    meaning: 'CRLs (PEM) enforced on every verification, inbound and outbound. Each applies to the certificates its issuer signed; delta and indirect CRLs are refused.',
  }),
  ocsp: value({
    type: type.oneOf(OCSP_MODES),
    default: fixed(TLS_DEFAULTS.ocsp),
    meaning:
      "Revocation by OCSP for clients' certificates (inbound) and next hops' certificates (outbound): the certificate's issuer's responder, named in its Authority Information Access, is asked — a response the next hop staples is taken first — and answers are kept until their nextUpdate. `soft` accepts a certificate when no responder can be reached or it answers unknown (logged); `hard` then refuses it for now: a client that an inbound connector identifies by its certificate gets `451 4.7.0` at MAIL FROM (try again later), a delivery is deferred with 4.7.5. A revoked certificate is refused under both. A certificate that names no responder is not checked. As with `tls.crl`, a refusal only makes the chain invalid: the level decides, so `opportunistic` and `encrypt` still deliver (logged), `verify-ca` and `verify` defer with 4.7.5, and an inbound connector that requires `certificateNames` refuses with 5.7.1. `off`: never asked. Stapling our own certificate's status is separate (`ocspStapling`).",
  }),
  ocspStapling: value({
    type: type.boolean,
    default: fixed(TLS_DEFAULTS.ocspStapling),
    meaning:
      "Staple an OCSP response to each served certificate whose AIA names a responder (`true` does nothing for one that names none): fetched from that responder, a `good` answer only, refreshed at half the time to its nextUpdate, kept under `queue.dir`/cache/ocsp so that a restart staples at once, and never served past its nextUpdate. A responder that cannot be reached costs the staple, never the session.",
  }),
  minVersion: value({ type: type.oneOf(TLS_VERSIONS), default: fixed(TLS_DEFAULTS.minVersion), meaning: 'The oldest TLS version the listeners accept.' }),
  ciphers: value({
    type: type.cipherList,
    default: fixed(TLS_DEFAULTS.ciphers),
    meaning: 'The TLS 1.2 cipher suites the listeners offer; the default is forward-secret suites only.',
  }),
};

export const DNS_KEYS = {
  servers: value({
    type: type.listOf(type.hostPort(DNS_PORT, 'ip')),
    default: fixed([]),
    meaning: 'The resolvers for every lookup the relay makes (MX, A, AAAA, TXT, TLSA); empty: the system resolver\'s (`/etc/resolv.conf`). Addresses, not names: a name would need DNS first.',
  }),
  dnssec: value({
    type: type.boolean,
    default: fixed(DNS_DEFAULTS.dnssec),
    meaning:
      'Trust the AD bit (DNSSEC-validated) of their answers, as Postfix\'s `smtp_dns_support_level = dnssec`: set it only when every server is a validating resolver you run, ideally on loopback, since anyone on the path to another can set the bit. Off: no answer counts as validated, so `tls: dane` finds no TLSA records and `tls: dane-only` is refused.',
  }),
};

export const POSTGRES_KEYS = {
  url: value({
    type: type.databaseUrl,
    default: REQUIRED,
    meaning: 'The database that holds the queue every instance shares. The relay creates its tables (`tlsrelay_*`) at start and migrates them when a newer version starts; its user needs to be allowed to create tables in the database (or its default schema). Changes only with a restart.',
  }),
  leaseSeconds: value({
    type: type.integer(5, 3600),
    default: fixed(POSTGRES_DEFAULTS.leaseSeconds),
    meaning: "How long an instance's claim on a message lasts without being renewed (renewed every third of it while the delivery runs): the messages of an instance that died are delivered by another once this has passed. Changes only with a restart.",
  }),
  poolSize: value({ type: type.integer(1, 1000), default: fixed(POSTGRES_DEFAULTS.poolSize), meaning: 'Connections to the database this instance opens at most; each message being received holds one until it is committed. Changes only with a restart.' }),
};

export const QUEUE_KEYS = {
  dir: value({
    type: type.path,
    default: fixed(QUEUE_DEFAULTS.dir),
    meaning: "The spool folder (the transit record lives in it too). The relay's user must be able to write it: otherwise `start` exits 2 saying so. The shipped `config/tlsrelay.yaml` sets `../var/spool`, the checkout's own. Changes only with a restart.",
  }),
  store: value({
    type: type.oneOf(QUEUE_STORES),
    default: fixed(QUEUE_DEFAULTS.store),
    meaning:
      'How the queue is kept in `dir`: `lmdb`, one embedded database (`<dir>/lmdb/`) whose commits are shared by concurrent messages; `files`, one envelope and one message file per message (`env/`, `data/`). On start, messages found in the other store are moved into this one, so switching back is a restart. Changes only with a restart.',
  }),
  retry: value({
    type: type.listOf(type.duration(MAX_TIMER_MS), { nonEmpty: true }),
    default: fixed([...QUEUE_DEFAULTS.retry]),
    meaning: 'The waits between the delivery attempts of a deferred message (±10 % jitter); the last one repeats until `maxAge`. A next hop that is down waits the same steps, at most 1h.',
  }),
  maxAge: value({
    type: type.duration(),
    default: fixed(QUEUE_DEFAULTS.maxAge),
    meaning: 'How long a message may stay deferred; then it bounces to its sender (a DSN). An outbound connector can set its own.',
  }),
  delayNotice: value({
    type: type.duration(),
    default: fixed(QUEUE_DEFAULTS.delayNotice),
    meaning: 'A message still deferred after this long gets its sender one delay notice (a DSN).',
  }),
  postgres: section({
    keys: POSTGRES_KEYS,
    meaning:
      'Keep the queue in PostgreSQL instead, shared by every relay instance whose config names the same database (README, "Running several instances"). `store` then only says which local store in `dir` is moved into the database at start, messages and all; `dir` still holds the transit record and the caches. Absent: the queue is kept in `dir`.',
  }),
};

export const DELIVERY_KEYS = {
  port: value({ type: type.integer(1, 65535), default: fixed(DELIVERY_DEFAULTS.port), meaning: 'The port of MX routes; smart hosts name their own.' }),
  concurrency: value({ type: type.integer(1), default: fixed(DELIVERY_DEFAULTS.concurrency), meaning: 'Connections to next hops open at once, in all.' }),
  perHost: value({ type: type.integer(1), default: fixed(DELIVERY_DEFAULTS.perHost), meaning: 'Connections open at once to one next-hop address.' }),
};

export const SMTP_KEYS = {
  maxMessageSize: value({
    type: type.integer(1),
    default: fixed(SMTP_DEFAULTS.maxMessageSize),
    meaning: 'The largest message taken, in bytes: advertised as SIZE; a `SIZE=` or a body over it gets `552 5.3.4`.',
  }),
  maxRecipients: value({ type: type.integer(1), default: fixed(SMTP_DEFAULTS.maxRecipients), meaning: 'Recipients per message; the next one gets `452 4.5.3`.' }),
  maxClients: value({ type: type.integer(1), default: fixed(SMTP_DEFAULTS.maxClients), meaning: 'Sessions open at once, over all listeners; the next connection gets `421`.' }),
  maxConnectionsPerIp: value({
    type: type.integer(1),
    default: fixed(SMTP_DEFAULTS.maxConnectionsPerIp),
    meaning: 'Sessions open at once from one client address; the next one gets `421`.',
  }),
  maxMessagesPerConnection: value({
    type: type.integer(1),
    default: fixed(SMTP_DEFAULTS.maxMessagesPerConnection),
    meaning: "Messages taken in one connection; then the next MAIL FROM gets `421 4.7.0` and the connection closes (Exchange's MaxMessagesPerConnection).",
  }),
  maxHops: value({
    type: type.integer(1),
    default: fixed(SMTP_DEFAULTS.maxHops),
    meaning:
      'Trace fields (`Received`, `Delivered-To`) a message may arrive with; more is a mail loop and gets `554 5.4.6 Too many hops` at the end of DATA. Our own `Received` is not counted. Postfix\'s `hopcount_limit`, which counts `Received` only, its own included.',
  }),
  idleTimeout: value({
    type: type.duration(MAX_TIMER_MS),
    default: fixed(SMTP_DEFAULTS.idleTimeout),
    meaning:
      "A session that sends nothing for this long gets `421` and is closed; and each request has this long from its first byte: a command line must be complete by then, the message data must keep up `minDataRate` (else `421 4.4.2 … Error: timeout exceeded`). Time the relay itself takes (its hooks, the spool) does not count. Postfix's `smtpd_timeout` with `smtpd_per_request_deadline = yes`.",
  }),
  handshakeTimeout: value({
    type: type.duration(MAX_TIMER_MS),
    default: fixed(SMTP_DEFAULTS.handshakeTimeout),
    meaning: 'A TLS handshake (implicit, or after STARTTLS) that has not finished by then is cut.',
  }),
  minDataRate: value({
    type: type.integer(1),
    default: fixed(SMTP_DEFAULTS.minDataRate),
    meaning:
      "Bytes per second the message data must arrive at, at least: each byte read in DATA adds 1/`minDataRate` s to the data's deadline, which never has more than `idleTimeout` left. Postfix's `smtpd_min_data_rate`.",
  }),
  bareLineEndings: value({
    type: type.oneOf(BARE_LINE_ENDING_MODES),
    default: fixed(SMTP_DEFAULTS.bareLineEndings),
    meaning: 'Message data with a bare CR or LF (how SMTP smuggling splits one message into two): `reject` answers `550 5.5.2`, `normalize` repairs the line endings. A NUL byte is refused either way.',
  }),
};

export const USER_KEYS = {
  name: value({ type: type.text, default: REQUIRED, meaning: 'The user name given with AUTH; unique.' }),
  passwordHash: value({
    type: type.passwordHash,
    default: REQUIRED,
    meaning: 'The scrypt hash of the password, from `tlsrelay hash-password`. `config show` prints `[redacted]`.',
  }),
};

export const AUTH_KEYS = {
  users: list({
    item: USER_KEYS,
    nonEmpty: false,
    default: fixed([] as const),
    meaning: 'The accounts for SMTP AUTH on listeners with `auth: optional` or `required`. An authenticated session may relay to any domain.',
  }),
  maxFailuresPerIp: value({
    type: type.integer(1),
    default: fixed(AUTH_DEFAULTS.maxFailuresPerIp),
    meaning: 'Failed AUTH attempts from one client address in 10 minutes; then AUTH gets `454 4.7.0` until the window passes.',
  }),
};

const IP_RANGES = type.listOf(type.cidr, { nonEmpty: true });
const CERTIFICATE_NAMES = type.listOf(type.domainPattern({ allowStar: false }), { nonEmpty: true });
const NO_CONDITION = none('no condition');

export const MATCH_KEYS = {
  ips: value({ type: IP_RANGES, default: NO_CONDITION, meaning: 'The client address is in one of these ranges (an IPv4-mapped IPv6 address counts as IPv4).' }),
  certificateNames: value({
    type: CERTIFICATE_NAMES,
    default: NO_CONDITION,
    meaning: 'After STARTTLS the client presented a certificate that chains to the system roots or `tls.trust` and names one of these (SAN or CN; wildcards allowed). Needs a listener with TLS.',
  }),
  senderDomains: value({
    type: type.listOf(type.domainPattern({ allowStar: true }), { nonEmpty: true }),
    default: NO_CONDITION,
    meaning: 'The MAIL FROM domain is one of these.',
  }),
};

export const REQUIRE_KEYS = {
  tls: value({
    type: type.boolean,
    default: fixed(false),
    meaning: 'Mail only over TLS: MAIL FROM without it gets `530 5.7.0 Must issue a STARTTLS command first`. Needs a listener with TLS.',
  }),
  certificateNames: value({
    type: CERTIFICATE_NAMES,
    default: NO_CONDITION,
    meaning: 'The client must present a trusted certificate naming one of these, else MAIL FROM gets `530 5.7.1` saying what was wrong. Needs a listener with TLS.',
  }),
  ips: value({ type: IP_RANGES, default: NO_CONDITION, meaning: "The connector's sessions are taken only from these ranges, else MAIL FROM gets `550 5.7.1`." }),
};

export const INBOUND_KEYS = {
  name: value({ type: type.text, default: REQUIRED, meaning: 'Names the connector in logs, replies and `policy explain`; unique.' }),
  match: section({
    keys: MATCH_KEYS,
    meaning: "Which sessions the connector is for: each field given must hold at MAIL FROM; none given, every session. A session's connector is the first whose match holds.",
  }),
  require: section({ keys: REQUIRE_KEYS, meaning: 'What the connector demands of its sessions.' }),
  relay: value({
    type: type.boolean,
    default: fixed(false),
    meaning: "The connector's sessions may send to any domain. Needs `match.ips`, `match.certificateNames`, `require.ips` or `require.certificateNames`: a sender domain alone is easily forged.",
  }),
};

const OUTBOUND_DEFAULTS = outboundDefaults(QUEUE_DEFAULTS.maxAge);

export const OUTBOUND_KEYS = {
  name: value({ type: type.text, default: REQUIRED, meaning: 'Names the connector in logs and `policy explain`; unique.' }),
  domains: value({
    type: type.listOf(type.domainPattern({ allowStar: true }), { nonEmpty: true }),
    default: REQUIRED,
    meaning: 'The recipient domains the connector is for. The most specific pattern wins (`a.b.test` over `"*.b.test"` over `"*"`); a pattern belongs to one connector only.',
  }),
  smartHosts: value({
    type: type.listOf(type.hostPort(SMART_HOST_PORT, 'name-or-ip')),
    default: fixed(OUTBOUND_DEFAULTS.smartHosts),
    meaning: 'Next hops to deliver to instead of the MX, tried in order; empty: MX routing on `delivery.port`.',
  }),
  tls: value({
    type: type.oneOf(TLS_LEVELS),
    default: fixed(OUTBOUND_DEFAULTS.tls),
    meaning:
      'The TLS level. `none`: never TLS; `opportunistic`: TLS when offered, else plaintext, certificates not checked; `encrypt`: TLS required, the certificate not checked; `verify-ca`: TLS and a certificate that chains to a trusted root; `verify`: that, and a name from `tlsNames` (else the host dialled); `fingerprint`: TLS and a certificate pinned in `fingerprints`; `dane`: DANE (RFC 7672) where the MX host publishes secure, usable TLSA records, else MTA-STS, else `opportunistic`; `dane-only`: DANE or defer. Above `opportunistic`, what falls short defers (`4.7.4`, `4.7.5`) and never goes in plaintext. `dane` and `dane-only` need `dns.dnssec: true` (`dane-only` refuses to load without it, `dane` warns and acts as `opportunistic`).',
  }),
  tlsNames: value({
    type: type.listOf(type.hostName),
    default: fixed(OUTBOUND_DEFAULTS.tlsNames),
    meaning: "The names the next hop's certificate may carry; empty: the host name dialled (the MX or the smart host).",
    onlyWith: { key: 'tls', value: 'verify' },
  }),
  fingerprints: value({
    type: type.listOf(type.fingerprint, { nonEmpty: true }),
    default: fixed(OUTBOUND_DEFAULTS.fingerprints),
    meaning: "The pins: the next hop's certificate, or its public key (SPKI), must have one of these SHA-256 digests. The chain is not checked.",
    onlyWith: { key: 'tls', value: 'fingerprint', needed: 'the sha256: pins of the certificates to accept' },
  }),
  minVersion: value({ type: type.oneOf(TLS_VERSIONS), default: fixed(OUTBOUND_DEFAULTS.minVersion), meaning: 'The oldest TLS version accepted from the next hop.' }),
  ciphers: value({ type: type.cipherList, default: none("Node's default"), meaning: 'The TLS 1.2 cipher suites offered to the next hop.' }),
  crl: value({
    type: type.listOf(type.file),
    default: fixed(OUTBOUND_DEFAULTS.crl),
    meaning: 'CRLs (PEM) on top of `tls.crl`, read again for every delivery so a replaced file counts at once.',
  }),
  clientCertificate: value({
    type: type.booleanOrName('certificate name'),
    default: fixed(OUTBOUND_DEFAULTS.clientCertificate),
    meaning: 'Present our certificate to the next hop when it asks for one: `true` the first (`tls.cert`, or the first of `tls.certificates`), a name the pair of `tls.certificates` with that `name`, `false` none. A name no pair has is an error.',
  }),
  plaintextFallback: value({
    type: type.boolean,
    default: fixed(OUTBOUND_DEFAULTS.plaintextFallback),
    meaning: 'When STARTTLS fails (a failed handshake, or a refusal after which the server hangs up), deliver over a new plaintext connection to the same host; `false` defers instead.',
    onlyWith: { key: 'tls', value: 'opportunistic' },
  }),
  mtaSts: value({
    type: type.boolean,
    default: derived('`true` on MX routes; not allowed with `smartHosts`'),
    notWith: 'smartHosts',
    meaning:
      "Honour the recipient domain's MTA-STS policy (RFC 8461) under `opportunistic`, `encrypt` and `dane` (for MX hosts without usable TLSA records): with `mode: enforce` only MX hosts the policy names are used and each must present a certificate that chains to the system roots or `tls.trust` and names it, else `4.7.5`; `mode: testing` delivers as the level says and logs what would have failed. Policies are cached under `<queue.dir>/cache/mta-sts/`. A `TLS-Required: No` header turns it off for that message.",
  }),
  maxAge: value({
    type: type.duration(),
    default: derived('`queue.maxAge`'),
    meaning: 'How long a message for these domains may stay deferred before it bounces.',
  }),
};

export const REPORT_KEYS = {
  retention: value({
    type: type.duration(),
    default: fixed(REPORT_DEFAULTS.retention),
    meaning:
      'How long the transit record keeps delivery sessions (`tlsrelay report tls` reads it). It is kept in one file per UTC day under `<queue.dir>/transit/`; a day file is deleted, whole, once its day ended longer ago than this (every relay on the spool looks at its start and hourly). Follows SIGHUP.',
  }),
};

export const TLS_RPT_KEYS = {
  enabled: value({
    type: type.boolean,
    default: fixed(TLS_RPT_DEFAULTS.enabled),
    meaning:
      'Send RFC 8460 aggregate TLS reports: once per period, to each recipient domain with delivery sessions in it that publishes `_smtp._tls.DOMAIN` TXT `v=TLSRPTv1; rua=…` (`mailto:` through the queue, `https:` as a POST). Counted from the transit record; reports are never counted in a report.',
  }),
  organization: value({ type: type.text, default: derived('`server.hostname`'), meaning: "The report's `organization-name`: who sends it." }),
  contact: value({
    type: type.mailAddress,
    default: derived('`postmaster@` followed by `server.hostname`'),
    meaning: "The report's `contact-info`, and the sender (envelope and `From:`) of the reports sent by mail.",
  }),
  interval: value({
    type: type.dayDivisor(MIN_TLS_RPT_INTERVAL),
    default: fixed(TLS_RPT_DEFAULTS.interval),
    meaning:
      'The reporting period, counted from 00:00 UTC. RFC 8460 asks for whole days: set a shorter one only to test, as it also shortens the `https:` timeout and the waits between retries. Changes only with a restart.',
  }),
};

export const ADMIN_KEYS = {
  address: value({
    type: type.ipAddress,
    default: fixed(ADMIN_DEFAULTS.address),
    meaning: 'The address the admin listener binds. Any address outside loopback (127.0.0.0/8, `::1`) needs `passwordHash`: `check-config` and `start` refuse it without one.',
  }),
  port: value({ type: type.integer(0, 65535), default: fixed(ADMIN_DEFAULTS.port), meaning: 'Its TCP port; `0` lets the system pick a free one. Changes only with a restart.' }),
  passwordHash: value({
    type: type.passwordHash,
    default: none('no password: only allowed on loopback'),
    meaning:
      'HTTP Basic authentication, user `admin`, against this scrypt hash from `tlsrelay hash-password`: every path but `/healthz` and `/readyz` then answers `401` without it. `config show` prints `[redacted]`. Follows SIGHUP.',
  }),
};

export const LOG_KEYS = {
  level: value({ type: type.oneOf(LOG_LEVELS), default: fixed(LOG_DEFAULTS.level), meaning: 'The least severe level written (pino levels). Follows SIGHUP.' }),
  format: value({
    type: type.oneOf(LOG_FORMATS),
    default: derived('`pretty` when stdout is a terminal, else `json`'),
    meaning: '`json`: one JSON object per line (for files, pipes, log collectors); `pretty`: one human-readable line per event, coloured on a terminal unless `NO_COLOR` is set. Follows SIGHUP.',
  }),
};

const EXAMPLE_HASH = '$scrypt$ln=15,r=8,p=1$F18iD9rh4t4XyE4NwdWfJA$6iPC9Om+0yxg03N6OV05BObgIKoVAuy1EfsK71nYe9U';
const EXAMPLE_PIN = 'sha256:5d:1f:8b:0c:3e:a2:97:44:6b:d0:19:c8:72:e5:0a:b3:4f:91:26:d8:e7:3c:58:a0:14:bb:69:f2:0d:87:c5:3a';

/** The whole config file. */
export const CONFIG_KEYS = {
  server: section({
    keys: SERVER_KEYS,
    meaning: 'Who the relay is.',
    example: ['server:', '  hostname: relay.contoso.test'].join('\n'),
  }),
  listeners: list({
    item: LISTENER_KEYS,
    nonEmpty: true,
    default: derived(`one listener: \`${DEFAULT_LISTENER.name}\` on ${DEFAULT_LISTENER.address}:${DEFAULT_LISTENER.port}, \`${DEFAULT_LISTENER.tls}\``),
    meaning: 'The SMTP ports the relay listens on. A listener added, removed or changed takes effect only after a restart.',
    example: [
      'listeners:',
      '  - { name: mx, address: 0.0.0.0, port: 25, tls: starttls }',
      '  - { name: submission, address: "::", port: 587, tls: starttls, auth: required }',
      '  - { name: smtps, address: "::", port: 465, tls: implicit, auth: optional }',
    ].join('\n'),
  }),
  tls: section({
    keys: TLS_KEYS,
    meaning: 'Our certificate, and what the relay trusts and refuses in TLS, inbound and outbound.',
    example: [
      'tls:',
      '  cert: ../certs/relay.crt',
      '  key: ../certs/relay.key',
      '  generateIfMissing: false',
      '  trust: [../certs/partners-ca.crt]',
      '  crl: [../certs/partners-ca.crl]',
      '  ocsp: soft',
      '  ocspStapling: true',
      '  minVersion: TLSv1.2',
      '  ciphers: ECDHE+AESGCM:ECDHE+CHACHA20',
    ].join('\n'),
    alternative: {
      intro: 'Or several certificates (instead of `cert` and `key`): an RSA and an ECDSA pair for the relay\'s name, and one for a second name that SNI chooses.',
      example: [
        'tls:',
        '  certificates:',
        '    - { name: rsa, cert: ../certs/relay-rsa.crt, key: ../certs/relay-rsa.key }',
        '    - { name: ecdsa, cert: ../certs/relay-ecdsa.crt, key: ../certs/relay-ecdsa.key }',
        '    - { name: fabrikam, cert: ../certs/fabrikam-gw.crt, key: ../certs/fabrikam-gw.key }',
      ].join('\n'),
    },
  }),
  dns: section({ keys: DNS_KEYS, meaning: 'Where names are looked up.', example: ['dns:', '  servers: [127.0.0.1, "[::1]:5353"]', '  dnssec: true'].join('\n') }),
  queue: section({
    keys: QUEUE_KEYS,
    meaning: 'The spool and the retry schedule.',
    example: ['queue:', '  dir: /var/spool/tlsrelay', '  store: lmdb', '  retry: [1m, 5m, 15m, 30m, 1h, 2h, 4h]', '  maxAge: 2d', '  delayNotice: 4h'].join('\n'),
    alternative: {
      intro: 'Or shared by several instances, in PostgreSQL (the password from `PGPASSWORD`):',
      example: ['queue:', '  dir: /var/spool/tlsrelay', '  postgres:', '    url: postgres://tlsrelay@db.contoso.test:5432/tlsrelay', '    leaseSeconds: 60', '    poolSize: 20'].join('\n'),
    },
  }),
  delivery: section({
    keys: DELIVERY_KEYS,
    meaning: 'How the relay connects to next hops.',
    example: ['delivery:', '  port: 25', '  concurrency: 100', '  perHost: 10'].join('\n'),
  }),
  smtp: section({
    keys: SMTP_KEYS,
    meaning: 'Limits of the SMTP sessions the listeners take. Each follows SIGHUP for new sessions; `idleTimeout` and `minDataRate` apply to open sessions from their next command.',
    example: [
      'smtp:',
      '  maxMessageSize: 52428800',
      '  maxRecipients: 100',
      '  maxClients: 1000',
      '  maxConnectionsPerIp: 20',
      '  maxMessagesPerConnection: 100',
      '  maxHops: 50',
      '  idleTimeout: 5m',
      '  handshakeTimeout: 30s',
      '  minDataRate: 500',
      '  bareLineEndings: reject',
    ].join('\n'),
  }),
  auth: section({
    keys: AUTH_KEYS,
    meaning: 'SMTP AUTH. Follows SIGHUP: the users apply to every AUTH after the reload.',
    example: ['auth:', '  users:', '    - name: scanner', `      passwordHash: "${EXAMPLE_HASH}"`, '  maxFailuresPerIp: 5'].join('\n'),
  }),
  acceptedDomains: value({
    type: type.listOf(type.domainPattern({ allowStar: false })),
    default: fixed([]),
    meaning: 'The domains the relay takes mail for from anyone. Mail for any other domain needs an inbound connector with `relay: true`, or AUTH; else `550 5.7.1 Relaying denied`. Never `"*"`: that would be an open relay.',
    example: 'acceptedDomains: [contoso.test, "*.contoso.test"]',
  }),
  inbound: list({
    item: INBOUND_KEYS,
    nonEmpty: false,
    default: fixed([] as const),
    meaning: 'Inbound connectors: which sessions may relay, and what TLS and certificates they must show.',
    example: [
      'inbound:',
      '  - name: onprem-exchange',
      '    match: { ips: [10.0.0.0/8], certificateNames: [exchange.contoso.test] }',
      '    relay: true',
      '  - name: partner-fabrikam',
      '    match: { senderDomains: [fabrikam.test, "*.fabrikam.test"] }',
      '    require: { tls: true, certificateNames: [mail.fabrikam.test], ips: [198.51.100.0/24, "2001:db8:fab::/48"] }',
    ].join('\n'),
  }),
  outbound: list({
    item: OUTBOUND_KEYS,
    nonEmpty: false,
    default: fixed([] as const),
    meaning: 'Outbound connectors: the route and TLS level per recipient domain. A domain no connector names gets the implicit `default` connector: MX routing, `opportunistic`.',
    example: [
      'outbound:',
      '  - name: onprem-exchange',
      '    domains: [contoso.test, "*.contoso.test"]',
      '    smartHosts: [exchange.contoso.test]',
      '    tls: verify',
      '    tlsNames: [exchange.contoso.test]',
      '  - name: partner-fabrikam',
      '    domains: [fabrikam.test]',
      '    tls: verify-ca',
      '    minVersion: TLSv1.3',
      '    clientCertificate: true',
      '    crl: [../certs/fabrikam-ca.crl]',
      '    maxAge: 1d',
      '  - name: pinned',
      '    domains: [northwind.test]',
      '    smartHosts: ["192.0.2.25:2626", "[2001:db8::25]:2626"]',
      '    tls: fingerprint',
      `    fingerprints: ["${EXAMPLE_PIN}"]`,
      '  - name: legacy',
      '    domains: [legacy.test]',
      '    tls: opportunistic',
      '    plaintextFallback: false',
      '    ciphers: ECDHE+AESGCM',
      '  - name: published',
      '    domains: [woodgrove.test]',
      '    tls: dane',
      '    mtaSts: true',
    ].join('\n'),
  }),
  report: section({
    keys: REPORT_KEYS,
    meaning: 'The transit record: one record per delivery session (policy, TLS, certificate verdict, failure, outcome), for `tlsrelay report tls`.',
    example: ['report:', '  retention: 30d'].join('\n'),
  }),
  tlsRpt: section({
    keys: TLS_RPT_KEYS,
    meaning: 'TLS reporting (RFC 8460): daily reports to the domains that ask for them of how the sessions to them went.',
    example: ['tlsRpt:', '  enabled: true', '  organization: Contoso Ltd', '  contact: tls-reports@contoso.test', '  interval: 1d'].join('\n'),
  }),
  admin: section({
    keys: ADMIN_KEYS,
    meaning:
      'The admin HTTP listener: `GET /metrics` (Prometheus), `/healthz` and `/readyz` (probes). Off when the section is absent; `admin: {}` turns it on at 127.0.0.1:9325. It reads state and changes none.',
    example: ['admin:', '  address: 127.0.0.1', '  port: 9325', `  passwordHash: "${EXAMPLE_HASH}"`].join('\n'),
  }),
  log: section({ keys: LOG_KEYS, meaning: 'The log on stdout.', example: ['log:', '  level: info', '  format: json'].join('\n') }),
};
