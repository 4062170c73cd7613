import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { issuesOf, TLS_LINE, writeConfig } from './helpers.js';
import { loadConfig } from '../../src/config/load.js';
import { SYSTEM_HOSTNAME } from '../helpers/config.js';
import { ConfigError } from '../../src/config/errors.js';

/** [line:col, a fragment of the message]: every issue, in file order, and nothing else. */
type Expected = Array<[string, string]>;

interface Case {
  name: string;
  yaml: string[];
  files?: Record<string, string>;
  expect: Expected;
}

const HASH = '$scrypt$ln=10,r=8,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI';
const PIN = `sha256:${'ab'.repeat(32)}`;

const cases: Case[] = [
  // YAML itself
  { name: 'YAML syntax errors, all of them', yaml: ['a: [1, 2', 'b: : :'], expect: [['2:1', 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'], ['2:4', 'YAML: Nested mappings'], ['2:6', 'YAML: Nested mappings']] },
  { name: 'duplicate key', yaml: [TLS_LINE, 'log: { level: info }', 'log: { level: warn }'], expect: [['3:1', 'YAML: Map keys must be unique']] },
  { name: 'the file is not a mapping', yaml: ['- server'], expect: [['1:1', 'expected a mapping of sections (server, listeners, tls, dns, queue, delivery, smtp, auth, acceptedDomains, inbound, outbound, report, tlsRpt, admin, log); got a list']] },
  { name: 'an unquoted wildcard reads as an alias', yaml: [TLS_LINE, 'acceptedDomains: [*.contoso.test]'], expect: [['2:19', 'acceptedDomains[0]: *.contoso.test is a YAML alias with no anchor; a value that starts with * must be quoted']] },

  // unknown keys
  { name: 'unknown key with a likely typo', yaml: [TLS_LINE, 'listner:', '  - { name: mx, port: 25 }'], expect: [['2:1', 'listner: unknown key (did you mean "listeners"?)']] },
  {
    name: 'unknown nested key names the known ones',
    yaml: [TLS_LINE, 'queue:', '  dir: spool', '  spool: x'],
    expect: [['4:3', 'queue.spool: unknown key (known keys: dir, store, retry, maxAge, delayNotice, postgres)']],
  },
  {
    name: 'the shared queue needs a PostgreSQL URL',
    yaml: [TLS_LINE, 'queue:', '  postgres: { leaseSeconds: 2 }'],
    expect: [
      ['3:13', 'queue.postgres.url: missing; this key is required'],
      ['3:29', 'queue.postgres.leaseSeconds: expected an integer from 5 to 3600'],
    ],
  },
  {
    name: 'a URL that is not a PostgreSQL one is refused without repeating it (it may hold a password)',
    yaml: [TLS_LINE, 'queue:', '  postgres: { url: "mysql://relay:s3cret@db/q" }'],
    expect: [['3:20', 'queue.postgres.url: expected a PostgreSQL URL: postgres://USER@HOST:PORT/DATABASE (the password is best left to PGPASSWORD)']],
  },
  {
    name: 'unknown key in a connector',
    yaml: [TLS_LINE, 'outbound:', '  - name: p', '    domains: [p.test]', '    smarthosts: [mx.p.test]', '    tls: verify', '    implicit: true'],
    expect: [['5:5', 'outbound[0].smarthosts: unknown key (did you mean "smartHosts"?)'], ['7:5', 'outbound[0].implicit: unknown key (known keys: name, domains']],
  },
  { name: 'keys must be words', yaml: [TLS_LINE, '25: smtp'], expect: [['2:1', 'keys must be plain words; got 25']] },

  // types and ranges
  { name: 'a section of the wrong type', yaml: [TLS_LINE, 'listeners: { name: mx, port: 25 }'], expect: [['2:12', 'listeners: expected a list; got a mapping']] },
  { name: 'an empty listener list', yaml: [TLS_LINE, 'listeners: []'], expect: [['2:12', 'listeners: must not be empty']] },
  {
    name: 'ports out of range, wrong type, missing; port 0 is fine',
    yaml: [TLS_LINE, 'listeners:', '  - { name: a, port: 65536 }', '  - { name: b, port: "25" }', '  - { name: c }', '  - { name: d, port: 0 }', 'delivery: { port: 0 }'],
    expect: [
      ['3:22', 'listeners[0].port: expected an integer from 0 to 65535; got 65536'],
      ['4:22', 'listeners[1].port: expected an integer from 0 to 65535; got "25"'],
      ['5:5', 'listeners[2].port: missing; this key is required'],
      ['7:19', 'delivery.port: expected an integer from 1 to 65535; got 0'],
    ],
  },
  {
    name: 'a name that YAML reads as a number, and one without a value',
    yaml: [TLS_LINE, 'listeners:', '  - { name: 587, port: 587 }', '  - name:', '    port: 25'],
    expect: [['3:13', 'listeners[0].name: expected text; got 587 (quote it: "587")'], ['4:5', 'listeners[1].name: needs a value']],
  },
  {
    name: 'zero or negative where that is nonsense',
    yaml: [TLS_LINE, 'delivery: { concurrency: 0, perHost: -1 }', 'smtp: { maxMessageSize: 0, maxRecipients: 1.5, maxMessagesPerConnection: 0, maxHops: 0 }', 'auth: { maxFailuresPerIp: 0 }'],
    expect: [
      ['2:26', 'delivery.concurrency: expected an integer 1 or more; got 0'],
      ['2:38', 'delivery.perHost: expected an integer 1 or more; got -1'],
      ['3:25', 'smtp.maxMessageSize: expected an integer 1 or more; got 0'],
      ['3:43', 'smtp.maxRecipients: expected an integer 1 or more; got 1.5'],
      ['3:74', 'smtp.maxMessagesPerConnection: expected an integer 1 or more; got 0'],
      ['3:86', 'smtp.maxHops: expected an integer 1 or more; got 0'],
      ['4:27', 'auth.maxFailuresPerIp: expected an integer 1 or more; got 0'],
    ],
  },
  { name: 'booleans are true or false, not yes', yaml: ['tls: { cert: c.pem, key: k.pem, generateIfMissing: yes }'], expect: [['1:52', 'tls.generateIfMissing: expected true or false; got "yes"']] },
  { name: 'dns.dnssec is true or false', yaml: [TLS_LINE, 'dns: { dnssec: on }'], expect: [['2:16', 'dns.dnssec: expected true or false; got "on"']] },
  { name: 'dns.dnssec misspelt', yaml: [TLS_LINE, 'dns: { dnsec: true }'], expect: [['2:8', 'dns.dnsec: unknown key (did you mean "dnssec"?)']] },
  {
    name: 'bad durations',
    yaml: [TLS_LINE, 'queue:', '  retry: [1m, 0s, 1.5h, 90]', '  maxAge: 2 days', '  delayNotice: []', 'smtp: { idleTimeout: 30d }'],
    expect: [
      ['3:15', 'queue.retry[1]: must be longer than 0'],
      ['3:19', 'queue.retry[2]: expected a duration such as 30s, 5m, 2h or 2d; got "1.5h"'],
      ['3:25', 'queue.retry[3]: expected a duration such as 30s, 5m, 2h or 2d; got 90'],
      ['4:11', 'queue.maxAge: expected a duration such as 30s, 5m, 2h or 2d; got "2 days"'],
      ['5:16', 'queue.delayNotice: expected a duration such as 30s, 5m, 2h or 2d; got a list'],
      ['6:22', 'smtp.idleTimeout: must be at most 24d (a Node.js timer limit)'],
    ],
  },
  {
    name: 'report.retention is a duration',
    yaml: [TLS_LINE, 'report: { retention: 30 days }'],
    expect: [['2:22', 'report.retention: expected a duration such as 30s, 5m, 2h or 2d; got "30 days"']],
  },
  { name: 'report.retention longer than 0', yaml: [TLS_LINE, 'report:', '  retention: 0d'], expect: [['3:14', 'report.retention: must be longer than 0']] },
  { name: 'report.retention misspelt', yaml: [TLS_LINE, 'report: { retension: 7d }'], expect: [['2:11', 'report.retension: unknown key (did you mean "retention"?)']] },
  {
    name: 'tlsRpt.interval divides a day, from 10s on; tlsRpt.contact is an address',
    yaml: [TLS_LINE, 'tlsRpt:', '  interval: 7m', '  contact: postmaster', 'queue: { dir: q }', 'tlsRpt2: {}'],
    expect: [
      ['3:13', 'tlsRpt.interval: must divide a day evenly (such as 10s, 1m, 5m, 1h, 6h, 1d), so that its periods end at 00:00 UTC'],
      ['4:12', 'tlsRpt.contact: expected a mail address such as tls-reports@example.test; got "postmaster"'],
      ['6:1', 'tlsRpt2: unknown key (did you mean "tlsRpt"?)'],
    ],
  },
  { name: 'tlsRpt.interval at least 10s', yaml: [TLS_LINE, 'tlsRpt: { interval: 5s }'], expect: [['2:21', 'tlsRpt.interval: must be at least 10s']] },
  { name: 'tlsRpt.interval at most a day', yaml: [TLS_LINE, 'tlsRpt: { interval: 2d }'], expect: [['2:21', 'tlsRpt.interval: must be at most 1d (a Node.js timer limit)']] },
  { name: 'an empty retry schedule', yaml: [TLS_LINE, 'queue: { retry: [] }'], expect: [['2:17', 'queue.retry: must not be empty']] },
  { name: 'a queue store there is not', yaml: [TLS_LINE, 'queue: { store: sqlite }'], expect: [['2:17', 'queue.store: expected one of lmdb, files; got "sqlite"']] },

  // enums
  {
    name: 'unknown enum values',
    yaml: [
      'tls: { cert: c.pem, key: k.pem, minVersion: TLSv1.1 }',
      'listeners: [{ name: mx, port: 25, tls: STARTTLS, auth: yes }]',
      'smtp: { bareLineEndings: fix }',
      'log: { level: verbose, format: text }',
      'outbound: [{ name: p, domains: [p.test], tls: verfy }]',
    ],
    expect: [
      ['1:45', 'tls.minVersion: expected one of TLSv1.2, TLSv1.3; got "TLSv1.1"'],
      ['2:40', 'listeners[0].tls: expected one of starttls, implicit, none; got "STARTTLS"'],
      ['2:56', 'listeners[0].auth: expected one of none, optional, required; got "yes"'],
      ['3:26', 'smtp.bareLineEndings: expected one of reject, normalize; got "fix"'],
      ['4:15', 'log.level: expected one of fatal, error, warn, info, debug, trace, silent; got "verbose"'],
      ['4:32', 'log.format: expected one of json, pretty; got "text"'],
      ['5:47', 'outbound[0].tls: expected one of none, opportunistic, encrypt, verify-ca, verify, fingerprint, dane, dane-only; got "verfy"'],
    ],
  },

  // addresses, ranges, names
  {
    name: 'bad IPs and CIDRs',
    yaml: [
      TLS_LINE,
      'listeners: [{ name: mx, address: localhost, port: 25 }]',
      'inbound:',
      '  - name: a',
      '    match: { ips: [10.0.0.0/8, 10.0.0.0/33, 300.1.1.1, "::1/129"] }',
      '    require: { ips: [] }',
      '  - name: b',
      '    match: { ips: ["::ffff:10.0.0.0/104", "::ffff:10.0.0.0/88"] }',
    ],
    expect: [
      ['2:34', 'listeners[0].address: expected an IP address; got "localhost"'],
      ['5:32', 'inbound[0].match.ips[1]: expected an IP address or CIDR range'],
      ['5:45', 'inbound[0].match.ips[2]: expected an IP address or CIDR range'],
      ['5:56', 'inbound[0].match.ips[3]: expected an IP address or CIDR range'],
      ['6:21', 'inbound[0].require.ips: must not be empty'],
      ['8:43', 'inbound[1].match.ips[1]: "::ffff:10.0.0.0/88": an IPv4-mapped range needs a prefix of /96 or more'],
    ],
  },
  {
    name: 'bad domain patterns',
    yaml: [TLS_LINE, 'acceptedDomains: ["*", "*.*.test", a..test, "con toso.test", 192.0.2.1, contoso.test/x]', 'server: { hostname: "relay example" }'],
    expect: [
      ['2:19', 'acceptedDomains[0]: "*" is not allowed here'],
      ['2:24', 'acceptedDomains[1]: expected a domain such as example.test'],
      ['2:36', 'acceptedDomains[2]: expected a domain'],
      ['2:45', 'acceptedDomains[3]: expected a domain'],
      ['2:62', 'acceptedDomains[4]: expected a domain'],
      ['2:73', 'acceptedDomains[5]: expected a domain'],
      ['3:21', 'server.hostname: expected a host name'],
    ],
  },
  {
    name: 'bad smart hosts and DNS servers',
    yaml: [
      TLS_LINE,
      'dns: { servers: [192.0.2.53, "[2001:db8::53]:5353", ns.example.test, "192.0.2.1:0"] }',
      'outbound:',
      '  - name: p',
      '    domains: [p.test]',
      '    smartHosts: [mx.p.test, "mx.p.test:99999", "[::1]:2626", "[mx.p.test]:25", "mx p.test", 192.0.2.1:2525]',
    ],
    expect: [
      ['2:53', 'dns.servers[2]: expected ip[:port] such as 192.0.2.53'],
      ['2:70', 'dns.servers[3]: expected ip[:port]'],
      ['6:29', 'outbound[0].smartHosts[1]: expected host[:port] such as mx.example.test, 192.0.2.25:2626 or [2001:db8::25]:2626 (port 1-65535, 25 when left out)'],
      ['6:62', 'outbound[0].smartHosts[3]: expected host[:port]'],
      ['6:80', 'outbound[0].smartHosts[4]: expected host[:port]'],
    ],
  },
  {
    name: 'bad fingerprints',
    yaml: [TLS_LINE, 'outbound:', '  - name: p', '    domains: [p.test]', '    tls: fingerprint', `    fingerprints: ["${PIN}", "sha256:abcd", "sha1:${'ab'.repeat(20)}"]`],
    expect: [
      ['6:95', 'outbound[0].fingerprints[1]: expected sha256: followed by 64 hex digits (colons allowed); got "sha256:abcd"'],
      ['6:110', 'outbound[0].fingerprints[2]: expected sha256: followed by 64 hex digits'],
    ],
  },
  { name: 'an OpenSSL cipher list OpenSSL rejects', yaml: ['tls: { cert: c.pem, key: k.pem, ciphers: "RC4-MD5:NOPE" }'], expect: [['1:42', 'tls.ciphers: OpenSSL rejects this cipher list']] },
  {
    name: 'a password hash that is not from hash-password',
    yaml: [TLS_LINE, 'auth:', '  users:', `    - { name: scanner, passwordHash: "${HASH}" }`, '    - { name: copier, passwordHash: "hunter2" }', '    - { name: fax }'],
    expect: [
      ['5:37', 'auth.users[1].passwordHash: expected an scrypt hash from `tlsrelay hash-password`'],
      ['6:7', 'auth.users[2].passwordHash: missing; this key is required'],
    ],
  },

  // duplicates
  {
    name: 'listeners that cannot both bind: one address, or a wildcard address and one it takes',
    yaml: [
      'listeners:',
      '  - { name: all-v4, address: 0.0.0.0, port: 2525, tls: none }',
      '  - { name: loopback, address: 127.0.0.1, port: 2525, tls: none }',
      '  - { name: dual, address: "::", port: 2526, tls: none }',
      '  - { name: all-v4-too, address: 0.0.0.0, port: 2526, tls: none }',
      '  - { name: v6-loopback, address: "::1", port: 2526, tls: none }',
      '  - { name: one, address: 127.0.0.1, port: 2527, tls: none }',
      '  - { name: mapped, address: "::ffff:127.0.0.1", port: 2527, tls: none }',
      '  - { name: all-v4-again, address: 0.0.0.0, port: 2525, tls: none }',
      '  - { name: dual-again, address: "0:0::0", port: 2526, tls: none }',
    ],
    expect: [
      ['3:49', 'listeners[1].port: 127.0.0.1:2525 overlaps 0.0.0.0:2525 of listener "all-v4" at line 2: 0.0.0.0:2525 takes every IPv4 address on its port, so the two cannot both listen'],
      ['5:49', 'listeners[3].port: 0.0.0.0:2526 overlaps [::]:2526 of listener "dual" at line 4: [::]:2526 takes every IPv6 and IPv4 address on its port (Node listens dual-stack)'],
      ['6:48', 'listeners[4].port: [::1]:2526 overlaps [::]:2526 of listener "dual" at line 4'],
      ['8:56', 'listeners[6].port: address and port "[::ffff:127.0.0.1]:2527" is already used at line 7 (listener "one")'],
      ['9:51', 'listeners[7].port: address and port "0.0.0.0:2525" is already used at line 2 (listener "all-v4")'],
      ['10:50', 'listeners[8].port: address and port "[0:0::0]:2526" is already used at line 4 (listener "dual")'],
    ],
  },
  {
    name: 'listeners that can both bind: two addresses of one family, one of each, or port 0',
    yaml: [
      'listeners:',
      '  - { name: a, address: 127.0.0.1, port: 2525, tls: none }',
      '  - { name: b, address: 127.0.0.2, port: 2525, tls: none }',
      '  - { name: c, address: "::1", port: 2525, tls: none }',
      '  - { name: d, address: 0.0.0.0, port: 2526, tls: none }',
      '  - { name: e, address: "::1", port: 2526, tls: none }',
      '  - { name: f, address: "::", port: 0, tls: none }',
      '  - { name: g, address: 0.0.0.0, port: 0, tls: none }',
    ],
    expect: [],
  },
  {
    name: 'duplicate names of listeners, connectors and users',
    yaml: [
      TLS_LINE,
      'listeners: [{ name: mx, port: 25 }, { name: mx, port: 26 }, { name: sub, port: 25 }]',
      'inbound: [{ name: a, match: { ips: [10.0.0.1] } }, { name: a }]',
      'outbound: [{ name: p, domains: [p.test] }, { name: p, domains: [q.test] }]',
      `auth: { users: [{ name: u, passwordHash: "${HASH}" }, { name: u, passwordHash: "${HASH}" }] }`,
    ],
    expect: [
      ['2:45', 'listeners[1].name: listener name "mx" is already used at line 2'],
      ['2:80', 'listeners[2].port: address and port "127.0.0.1:25" is already used at line 2'],
      ['3:60', 'inbound[1].name: inbound connector name "a" is already used at line 3'],
      ['4:52', 'outbound[1].name: outbound connector name "p" is already used at line 4'],
      ['5:144', 'auth.users[1].name: user name "u" is already used at line 5'],
    ],
  },
  {
    name: 'the same domain pattern in two outbound connectors, however it is spelled',
    yaml: [
      TLS_LINE,
      'outbound:',
      '  - { name: a, domains: [bücher.test, "*.p.test"] }',
      '  - { name: b, domains: [XN--BCHER-KVA.test., "*.P.test", p.test] }',
    ],
    expect: [
      ['4:26', 'outbound[1].domains[0]: domain "xn--bcher-kva.test" is already used at line 3 (outbound connector "a")'],
      ['4:47', 'outbound[1].domains[1]: domain "*.p.test" is already used at line 3 (outbound connector "a")'],
    ],
  },
  { name: 'a connector without domains', yaml: [TLS_LINE, 'outbound: [{ name: p }, { name: q, domains: [] }]'], expect: [['2:12', 'outbound[0].domains: missing'], ['2:45', 'outbound[1].domains: must not be empty']] },

  // across fields
  { name: 'an empty file: the default listener needs a certificate', yaml: [''], expect: [['1:1', 'listeners: the default listener (127.0.0.1:2525, starttls) needs our certificate: set tls.cert and tls.key']] },
  { name: 'only a document marker: the same', yaml: ['---', '# to do'], expect: [['1:1', 'the default listener']] },
  { name: 'comments only: the same, at the start of the mapping', yaml: ['# nothing yet', 'server:'], expect: [['2:1', 'the default listener']] },
  {
    name: 'TLS listeners need a certificate, tls: none does not',
    yaml: ['listeners:', '  - { name: a, port: 25 }', '  - { name: b, port: 465, tls: implicit }', '  - { name: c, port: 26, tls: none }'],
    expect: [['2:5', 'listeners[0].tls: starttls needs our certificate'], ['3:32', 'listeners[1].tls: implicit needs our certificate']],
  },
  { name: 'AUTH only after TLS', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 25, tls: none, auth: optional }]'], expect: [['2:51', 'listeners[0].auth: optional needs TLS']] },
  { name: 'cert without key', yaml: ['tls: { cert: c.pem }'], expect: [['1:8', 'tls.cert: needs tls.key too: the two go together']] },
  { name: 'key without cert', yaml: ['tls:', '  key: k.pem'], expect: [['2:3', 'tls.key: needs tls.cert too']] },
  { name: 'generateIfMissing without paths', yaml: ['tls: { generateIfMissing: true }'], expect: [['1:27', 'tls.generateIfMissing: needs tls.cert and tls.key']] },
  {
    name: 'keys that belong to another TLS level',
    yaml: [
      TLS_LINE,
      'outbound:',
      '  - { name: a, domains: [a.test], tls: fingerprint }',
      `  - { name: b, domains: [b.test], tls: verify, fingerprints: ["${PIN}"] }`,
      '  - { name: c, domains: [c.test], tls: encrypt, tlsNames: [mx.c.test] }',
      '  - { name: d, domains: [d.test], tls: verify-ca, plaintextFallback: false }',
      '  - { name: e, domains: [e.test], tls: fingerprint, fingerprints: [] }',
      '  - { name: f, domains: [f.test], plaintextFallback: false, tlsNames: [] }',
    ],
    expect: [
      ['3:40', 'outbound[0].fingerprints: tls: fingerprint needs fingerprints'],
      ['4:48', 'outbound[1].fingerprints: only applies with tls: fingerprint, and this connector has tls: verify'],
      ['5:49', 'outbound[2].tlsNames: only applies with tls: verify, and this connector has tls: encrypt'],
      ['6:51', 'outbound[3].plaintextFallback: only applies with tls: opportunistic, and this connector has tls: verify-ca'],
      ['7:67', 'outbound[4].fingerprints: must not be empty'],
      ['8:61', 'outbound[5].tlsNames: only applies with tls: verify, and this connector has tls: opportunistic'],
    ],
  },
  {
    name: 'dane-only needs dns.dnssec; mtaSts belongs to MX routes',
    yaml: [
      TLS_LINE,
      'outbound:',
      '  - { name: a, domains: [a.test], tls: dane-only }',
      '  - { name: b, domains: [b.test], smartHosts: [mx.b.test], mtaSts: true }',
      '  - { name: c, domains: [c.test], smartHosts: [mx.c.test], mtaSts: false }',
    ],
    expect: [
      ['3:40', 'outbound[0].tls: dane-only needs dns.dnssec: true'],
      ['4:60', 'outbound[1].mtaSts: only applies to MX routes; a connector with smartHosts uses only its own TLS level'],
      ['5:60', 'outbound[2].mtaSts: only applies to MX routes'],
    ],
  },
  {
    name: 'a client certificate needs our certificate',
    yaml: ['listeners: [{ name: a, port: 25, tls: none }]', 'outbound: [{ name: p, domains: [p.test], tls: verify, clientCertificate: true }]'],
    expect: [['2:74', 'outbound[0].clientCertificate: true needs our certificate']],
  },
  {
    name: 'tls.certificates and tls.cert at once',
    yaml: ['tls:', '  cert: c.pem', '  key: k.pem', '  certificates: [{ cert: c.pem, key: k.pem }]'],
    expect: [['4:3', 'tls.certificates: cannot stand beside tls.cert and tls.key: list that pair here too, and leave those two out']],
  },
  {
    name: 'tls.certificates: each pair needs both files, a name once',
    yaml: ['tls:', '  certificates:', '    - { name: a, cert: c.pem }', '    - { name: a, cert: c.pem, key: k.pem }', '    - { key: k.pem, cert: nothere.pem }'],
    expect: [
      ['3:7', 'tls.certificates[0].key: missing; this key is required'],
      ['4:15', 'tls.certificates[1].name: certificate name "a" is already used at line 3'],
      ['5:27', 'tls.certificates[2].cert: file not found: '],
    ],
  },
  {
    name: 'clientCertificate names a pair of tls.certificates',
    yaml: [
      'tls: { certificates: [{ name: rsa, cert: c.pem, key: k.pem }, { name: ecdsa, cert: c.pem, key: k.pem }] }',
      'outbound:',
      '  - { name: p, domains: [p.test], clientCertificate: ecdsa }',
      '  - { name: q, domains: [q.test], clientCertificate: dsa }',
      '  - { name: r, domains: [r.test], clientCertificate: 3 }',
    ],
    expect: [
      ['4:54', 'outbound[1].clientCertificate: no pair of tls.certificates is named "dsa": the names are "rsa", "ecdsa"'],
      ['5:54', 'outbound[2].clientCertificate: expected true, false or a name; got 3'],
    ],
  },
  {
    name: 'a clientCertificate name needs named pairs',
    yaml: [TLS_LINE, 'outbound: [{ name: p, domains: [p.test], clientCertificate: relay }]'],
    expect: [['2:61', 'outbound[0].clientCertificate: no pair of tls.certificates is named "relay": none of them has a name (tls.certificates[].name)']],
  },
  {
    name: 'client certificates and require.tls need a TLS listener',
    yaml: [
      TLS_LINE,
      'listeners: [{ name: a, port: 25, tls: none }]',
      'inbound:',
      '  - name: exchange',
      '    match: { certificateNames: [exchange.contoso.test] }',
      '    require: { tls: true, certificateNames: ["*.contoso.test"] }',
      '    relay: true',
    ],
    expect: [
      ['5:14', 'inbound[0].match.certificateNames: needs a listener with tls: starttls or implicit'],
      ['6:16', 'inbound[0].require.tls: needs a listener with tls'],
      ['6:27', 'inbound[0].require.certificateNames: needs a listener with tls'],
    ],
  },
  {
    name: 'relaying needs more than a sender domain',
    yaml: [TLS_LINE, 'inbound:', '  - { name: open, relay: true }', '  - { name: spoofable, match: { senderDomains: [contoso.test] }, relay: true }', '  - { name: fine, match: { senderDomains: [contoso.test] }, require: { ips: [10.0.0.0/8] }, relay: true }'],
    expect: [
      ['3:26', 'inbound[0].relay: true needs match.ips, match.certificateNames, require.ips or require.certificateNames; otherwise this is an open relay'],
      ['4:73', 'inbound[1].relay: true needs'],
    ],
  },
  { name: 'a certificate name is never "*"', yaml: [TLS_LINE, 'inbound: [{ name: a, match: { certificateNames: ["*"] } }]'], expect: [['2:50', 'inbound[0].match.certificateNames[0]: "*" is not allowed here']] },

  // files
  {
    name: 'missing certificate files without generateIfMissing',
    yaml: ['tls:', '  cert: certs/relay.crt', '  key: k.pem'],
    expect: [['2:9', 'tls.cert: file not found: ']],
  },
  {
    name: 'trust, CRL and connector CRL files must exist',
    yaml: ['tls: { cert: c.pem, key: k.pem, trust: [c.pem, ca.pem], crl: [crl.pem] }', 'outbound: [{ name: p, domains: [p.test], crl: [p.crl] }]'],
    expect: [
      ['1:48', 'tls.trust[1]: file not found: '],
      ['1:63', 'tls.crl[0]: file not found: '],
      ['2:48', 'outbound[0].crl[0]: file not found: '],
    ],
  },
  {
    name: 'admin off loopback without a password: refused at the address',
    yaml: [TLS_LINE, 'admin:', '  address: 0.0.0.0'],
    expect: [['3:12', 'admin.address: 0.0.0.0 is not a loopback address: set admin.passwordHash']],
  },
  {
    name: 'admin on an IPv6 address off loopback, and a bad port',
    yaml: [TLS_LINE, 'admin: { address: "2001:db8::1", port: 70000 }'],
    expect: [
      ['2:19', 'admin.address: 2001:db8::1 is not a loopback address'],
      ['2:40', 'admin.port'],
    ],
  },
  {
    name: 'a folder is not a certificate, even with generateIfMissing',
    yaml: ['tls: { cert: certs, key: k.pem, generateIfMissing: true }'],
    files: { certs: {} as unknown as string },
    expect: [['1:14', 'tls.cert: cannot read ']],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const issues = issuesOf(t, c.yaml, c.files);
    t.same(issues.map((issue) => issue.at), c.expect.map(([at]) => at), 'issues at these positions, no more');
    c.expect.forEach(([, fragment], i) => t.match(issues[i]?.message ?? '', fragment));
  });
}

t.test('a bad database URL is not repeated in the message: it may hold a password', async (t) => {
  const issues = issuesOf(t, [TLS_LINE, 'queue:', '  postgres: { url: "postgres//relay:s3cret@db/q" }']);
  t.equal(issues.length, 1);
  t.notMatch(issues[0]?.message ?? '', 's3cret');
});

t.test('message: FILE:LINE:COL per issue, FILE as passed', async (t) => {
  const file = writeConfig(t, ['tls: { cert: c.pem, key: k.pem }', 'log: { level: loud }', 'queue: { maxAge: 0d }']);
  const cwd = process.cwd();
  process.chdir(join(file, '..', '..'));
  t.teardown(() => process.chdir(cwd));
  const relative = join(file.split('/').at(-2) ?? '', 'tlsrelay.yaml');
  const err = t.throws(() => loadConfig(relative, SYSTEM_HOSTNAME)) as ConfigError;
  t.type(err, ConfigError);
  t.equal(
    err.message,
    [`${relative}:2:15: log.level: expected one of fatal, error, warn, info, debug, trace, silent; got "loud"`, `${relative}:3:18: queue.maxAge: must be longer than 0`].join('\n'),
  );
  t.same(err.issues.map((issue) => issue.file), [relative, relative]);
});

t.test('a file that cannot be read is one issue at 1:1', async (t) => {
  const dir = t.testdir({});
  const missing = join(dir, 'nope.yaml');
  const err = t.throws(() => loadConfig(missing, SYSTEM_HOSTNAME)) as ConfigError;
  t.type(err, ConfigError);
  t.match(err.message, `${missing}:1:1: cannot read config file: ENOENT`);
  mkdirSync(join(dir, 'folder.yaml'));
  t.match((t.throws(() => loadConfig(join(dir, 'folder.yaml'), SYSTEM_HOSTNAME)) as Error).message, ':1:1: cannot read config file: EISDIR');
});

t.test('a section of the wrong type is one issue, not a cascade', async (t) => {
  const issues = issuesOf(t, ['tls: relay.pem', 'listeners: relay']);
  t.same(issues.map((issue) => issue.at), ['1:6', '2:12']);
  t.match(issues[0]?.message, 'tls: expected a mapping with keys cert, key, certificates, generateIfMissing');
  t.match(issues[1]?.message, 'listeners: expected a list; got "relay"');
});
