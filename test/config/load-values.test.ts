import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { load, TLS_LINE } from './helpers.js';
import { loadConfig } from '../../src/config/load.js';
import { SYSTEM_HOSTNAME } from '../helpers/config.js';
import { DEFAULT_CIPHERS, type Config } from '../../src/config/types.js';

const ADMIN_HASH = '$scrypt$ln=10,r=8,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

t.test('absent keys take the contract defaults', async (t) => {
  const config = load(t, [TLS_LINE]);
  const dir = t.testdirName;
  const expected: Config = {
    file: join(dir, 'tlsrelay.yaml'),
    places: { 'tls.cert': `${join(dir, 'tlsrelay.yaml')}:1:14`, 'tls.key': `${join(dir, 'tlsrelay.yaml')}:1:26` },
    warnings: [],
    server: { hostname: SYSTEM_HOSTNAME },
    listeners: [{ name: 'smtp', address: '127.0.0.1', port: 2525, tls: 'starttls', auth: 'none' }],
    tls: { cert: join(dir, 'c.pem'), key: join(dir, 'k.pem'), certificates: [], generateIfMissing: false, trust: [], crl: [], ocsp: 'off', ocspStapling: true, minVersion: 'TLSv1.2', ciphers: DEFAULT_CIPHERS },
    dns: { servers: [], dnssec: false },
    queue: { dir: '/var/spool/tlsrelay', store: 'lmdb', retry: [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR], maxAge: 2 * DAY, delayNotice: 4 * HOUR },
    delivery: { port: 25, concurrency: 100, perHost: 10 },
    smtp: { maxMessageSize: 52_428_800, maxRecipients: 100, maxClients: 1000, maxConnectionsPerIp: 20, maxMessagesPerConnection: 100, maxHops: 50, idleTimeout: 5 * MINUTE, handshakeTimeout: 30_000, minDataRate: 500, bareLineEndings: 'reject' },
    auth: { users: [], maxFailuresPerIp: 5 },
    acceptedDomains: [],
    inbound: [],
    outbound: [],
    report: { retention: 30 * DAY },
    tlsRpt: { enabled: false, organization: SYSTEM_HOSTNAME, contact: `postmaster@${SYSTEM_HOSTNAME}`, interval: DAY },
    admin: undefined,
    log: { level: 'info', format: undefined },
  };
  t.strictSame(config, expected);
});

t.test('defaults inside listeners and connectors', async (t) => {
  const config = load(t, [
    TLS_LINE,
    'queue: { maxAge: 3d }',
    'listeners: [{ name: mx, port: 0 }]',
    'inbound: [{ name: lan, match: { ips: [10.0.0.0/8] } }]',
    'outbound: [{ name: p, domains: [p.test] }, { name: q, domains: [q.test], maxAge: 1h }]',
  ]);
  t.strictSame(config.listeners, [{ name: 'mx', address: '127.0.0.1', port: 0, tls: 'starttls', auth: 'none' }], 'port 0 (ephemeral) is allowed');
  t.strictSame(config.inbound, [{ name: 'lan', match: { ips: ['10.0.0.0/8'] }, require: { tls: false }, relay: false }]);
  t.strictSame(config.outbound[0], {
    name: 'p',
    domains: ['p.test'],
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
    maxAge: 3 * DAY,
    implicit: false,
  });
  t.equal(config.outbound[0]?.maxAge, 3 * DAY, 'connector maxAge follows queue.maxAge');
  t.equal(config.outbound[1]?.maxAge, HOUR, 'unless set');
  t.notOk('ips' in (config.inbound[0]?.require ?? {}), 'absent conditions are absent keys, not empty lists');
});

t.test('every value read and converted', async (t) => {
  const pin = Array(32).fill('AB').join(':');
  const hash = '$scrypt$ln=10,r=8,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI';
  const config = load(t, [
    'server: { hostname: Relay.Contoso.TEST. }',
    'listeners:',
    '  - { name: mx, address: 0.0.0.0, port: 25 }',
    '  - { name: submission, address: "::", port: 587, tls: implicit, auth: required }',
    '  - { name: lan, address: 10.1.2.3, port: 26, tls: none }',
    'tls: { cert: c.pem, key: k.pem, trust: [ca.pem], crl: [ca.crl], ocsp: hard, ocspStapling: false, minVersion: TLSv1.3, ciphers: "ECDHE+AESGCM" }',
    'dns: { servers: [192.0.2.53, "[2001:db8::53]:5353"], dnssec: true }',
    'queue: { dir: /var/spool/tlsrelay, store: files, retry: [30s, 2h], maxAge: 1d, delayNotice: 30m }',
    'delivery: { port: 2626, concurrency: 5, perHost: 1 }',
    'smtp: { maxMessageSize: 1024, maxRecipients: 2, maxClients: 3, maxConnectionsPerIp: 4, maxMessagesPerConnection: 5, maxHops: 30, idleTimeout: 1m, handshakeTimeout: 5s, minDataRate: 100, bareLineEndings: normalize }',
    `auth: { users: [{ name: scanner, passwordHash: "${hash}" }], maxFailuresPerIp: 3 }`,
    'acceptedDomains: [Contoso.TEST., bücher.test, "*.Contoso.test"]',
    'inbound:',
    '  - name: exchange',
    '    match: { ips: [10.0.0.1, "::1", "::ffff:192.0.2.0/120"], certificateNames: [Exchange.Contoso.test, "*.Contoso.test"] }',
    '    relay: true',
    '  - name: partner',
    '    match: { senderDomains: [FABRIKAM.test, "*"] }',
    '    require: { tls: true, certificateNames: [mail.fabrikam.test], ips: [198.51.100.0/24] }',
    'outbound:',
    '  - name: exchange',
    '    domains: [contoso.test]',
    '    smartHosts: [Exchange.Contoso.test, "192.0.2.25:2626", "[::1]:2626", "::1"]',
    '    tls: verify',
    '    tlsNames: [MX.Contoso.test.]',
    '    minVersion: TLSv1.3',
    '    ciphers: "ECDHE+CHACHA20"',
    '    crl: [ca.crl]',
    '    clientCertificate: true',
    '    maxAge: 12h',
    '  - { name: pinned, domains: ["*"], tls: fingerprint, fingerprints: ["SHA256:' + pin + '"] }',
    '  - { name: legacy, domains: [legacy.test], tls: opportunistic, plaintextFallback: false }',
    'tlsRpt: { enabled: true, organization: Contoso Ltd, contact: TLS-Reports@Contoso.TEST., interval: 1h }',
    'log: { level: debug, format: pretty }',
  ], { 'ca.pem': 'ca', 'ca.crl': 'crl' });
  const dir = t.testdirName;
  t.equal(config.server.hostname, 'relay.contoso.test');
  t.strictSame(config.listeners, [
    { name: 'mx', address: '0.0.0.0', port: 25, tls: 'starttls', auth: 'none' },
    { name: 'submission', address: '::', port: 587, tls: 'implicit', auth: 'required' },
    { name: 'lan', address: '10.1.2.3', port: 26, tls: 'none', auth: 'none' },
  ]);
  const file = join(dir, 'tlsrelay.yaml');
  t.strictSame(config.places, {
    'tls.cert': `${file}:6:14`,
    'tls.key': `${file}:6:26`,
    'tls.trust[0]': `${file}:6:41`,
    'tls.crl[0]': `${file}:6:56`,
    'queue.dir': `${file}:8:15`,
    'outbound[0].crl[0]': `${file}:28:11`,
  }, 'each file named, at its own line and column');
  t.strictSame(config.tls, { cert: join(dir, 'c.pem'), key: join(dir, 'k.pem'), certificates: [], generateIfMissing: false, trust: [join(dir, 'ca.pem')], crl: [join(dir, 'ca.crl')], ocsp: 'hard', ocspStapling: false, minVersion: 'TLSv1.3', ciphers: 'ECDHE+AESGCM' });
  t.strictSame(config.dns, { servers: [{ host: '192.0.2.53', port: 53 }, { host: '2001:db8::53', port: 5353 }], dnssec: true });
  t.strictSame(config.queue, { dir: '/var/spool/tlsrelay', store: 'files', retry: [30_000, 2 * HOUR], maxAge: DAY, delayNotice: 30 * MINUTE });
  t.strictSame(config.delivery, { port: 2626, concurrency: 5, perHost: 1 });
  t.strictSame(config.smtp, { maxMessageSize: 1024, maxRecipients: 2, maxClients: 3, maxConnectionsPerIp: 4, maxMessagesPerConnection: 5, maxHops: 30, idleTimeout: MINUTE, handshakeTimeout: 5000, minDataRate: 100, bareLineEndings: 'normalize' });
  t.strictSame(config.auth, { users: [{ name: 'scanner', passwordHash: hash }], maxFailuresPerIp: 3 });
  t.strictSame(config.acceptedDomains, ['contoso.test', 'xn--bcher-kva.test', '*.contoso.test']);
  t.strictSame(config.inbound, [
    { name: 'exchange', match: { ips: ['10.0.0.1/32', '::1/128', '192.0.2.0/24'], certificateNames: ['exchange.contoso.test', '*.contoso.test'] }, require: { tls: false }, relay: true },
    { name: 'partner', match: { senderDomains: ['fabrikam.test', '*'] }, require: { tls: true, certificateNames: ['mail.fabrikam.test'], ips: ['198.51.100.0/24'] }, relay: false },
  ]);
  const [exchange, pinned, legacy] = config.outbound;
  t.strictSame(exchange, {
    name: 'exchange',
    domains: ['contoso.test'],
    smartHosts: [{ host: 'exchange.contoso.test', port: 25 }, { host: '192.0.2.25', port: 2626 }, { host: '::1', port: 2626 }, { host: '::1', port: 25 }],
    tls: 'verify',
    tlsNames: ['mx.contoso.test'],
    fingerprints: [],
    minVersion: 'TLSv1.3',
    ciphers: 'ECDHE+CHACHA20',
    crl: [join(dir, 'ca.crl')],
    clientCertificate: true,
    plaintextFallback: true,
    mtaSts: false,
    maxAge: 12 * HOUR,
    implicit: false,
  });
  t.strictSame(pinned?.fingerprints, ['ab'.repeat(32)]);
  t.strictSame(pinned?.domains, ['*']);
  t.equal(legacy?.plaintextFallback, false);
  t.strictSame(config.tlsRpt, { enabled: true, organization: 'Contoso Ltd', contact: 'TLS-Reports@contoso.test', interval: HOUR }, 'the local part as written, the domain normalised');
  t.strictSame(config.log, { level: 'debug', format: 'pretty' });
});

t.test('admin: off when absent or empty; the section on with its defaults; a password allows any address', async (t) => {
  t.equal(load(t, [TLS_LINE]).admin, undefined);
  t.equal(load(t, [TLS_LINE, 'admin:']).admin, undefined, 'no value: left out');
  t.strictSame(load(t, [TLS_LINE, 'admin: {}']).admin, { address: '127.0.0.1', port: 9325, passwordHash: undefined });
  t.strictSame(load(t, [TLS_LINE, 'admin: { address: "::1", port: 0 }']).admin, { address: '::1', port: 0, passwordHash: undefined }, 'IPv6 loopback');
  t.strictSame(load(t, [TLS_LINE, 'admin: { address: 127.0.0.2 }']).admin?.address, '127.0.0.2', 'all of 127.0.0.0/8 is loopback');
  t.strictSame(load(t, [TLS_LINE, `admin: { address: 0.0.0.0, passwordHash: "${ADMIN_HASH}" }`]).admin, { address: '0.0.0.0', port: 9325, passwordHash: ADMIN_HASH });
});

t.test('tlsRpt.organization and contact follow server.hostname', async (t) => {
  const config = load(t, [TLS_LINE, 'server: { hostname: mx.contoso.test }', 'tlsRpt: { enabled: true }']);
  t.strictSame(config.tlsRpt, { enabled: true, organization: 'mx.contoso.test', contact: 'postmaster@mx.contoso.test', interval: DAY });
});

t.test('relative paths resolve against the config file, not the working directory', async (t) => {
  const dir = t.testdir({
    etc: { 'tlsrelay.yaml': 'tls: { cert: ../certs/relay.crt, key: ../certs/relay.key, generateIfMissing: true, trust: [ca.pem] }\nqueue: { dir: ../spool }\n', 'ca.pem': 'ca', 'defaults.yaml': 'listeners: [{ name: a, port: 25, tls: none }]\n' },
  });
  const cwd = process.cwd();
  mkdirSync(join(dir, 'elsewhere'));
  process.chdir(join(dir, 'elsewhere'));
  t.teardown(() => process.chdir(cwd));
  const config = loadConfig('../etc/tlsrelay.yaml', SYSTEM_HOSTNAME);
  t.equal(config.file, join(dir, 'etc', 'tlsrelay.yaml'), 'file is absolute');
  t.equal(config.tls.cert, join(dir, 'certs', 'relay.crt'), 'a missing cert is fine with generateIfMissing');
  t.equal(config.tls.key, join(dir, 'certs', 'relay.key'));
  t.strictSame(config.tls.trust, [join(dir, 'etc', 'ca.pem')]);
  t.equal(config.queue.dir, join(dir, 'spool'), 'queue.dir too');
  t.equal(loadConfig('../etc/defaults.yaml', SYSTEM_HOSTNAME).queue.dir, '/var/spool/tlsrelay', 'left out, the spool is /var/spool/tlsrelay wherever the config is');
});

t.test('YAML anchors and aliases are followed', async (t) => {
  const config = load(t, [
    TLS_LINE,
    'outbound:',
    '  - { name: a, domains: [a.test], smartHosts: &relays [mx1.a.test, mx2.a.test], tls: encrypt }',
    '  - { name: b, domains: [b.test], smartHosts: *relays }',
  ]);
  t.strictSame(config.outbound[1]?.smartHosts, [{ host: 'mx1.a.test', port: 25 }, { host: 'mx2.a.test', port: 25 }]);
});

t.test('empty sections and keys without values read as absent', async (t) => {
  const config = load(t, [TLS_LINE, 'server:', 'queue:', '  retry:', 'smtp: {}']);
  t.equal(config.queue.retry.length, 7);
  t.equal(config.smtp.maxClients, 1000);
});

t.test('two loads share no arrays: one config cannot change another', async (t) => {
  const first = load(t, [TLS_LINE]);
  first.queue.retry.push(1);
  const second = loadConfig(first.file, SYSTEM_HOSTNAME);
  t.equal(second.queue.retry.length, 7);
});

t.test('dane without dns.dnssec loads with a warning at its place; with dnssec, and dane-only, without', async (t) => {
  const warned = load(t, [TLS_LINE, 'outbound:', '  - { name: d, domains: [d.test], tls: dane }']);
  t.match(warned.warnings, [{ file: warned.file, line: 3, col: 40, message: /^outbound\[0\]\.tls: dane without dns\.dnssec: true acts as opportunistic/ }]);
  t.equal(warned.warnings.length, 1);
  const quiet = load(t, [TLS_LINE, 'dns: { dnssec: true }', 'outbound:', '  - { name: d, domains: [d.test], tls: dane }', '  - { name: e, domains: [e.test], tls: dane-only }']);
  t.same(quiet.warnings, []);
  t.same(quiet.outbound.map((connector) => [connector.tls, connector.mtaSts]), [['dane', true], ['dane-only', true]]);
});

t.test('tls.certificates: the pairs in order, each file at its place; clientCertificate a name of them, true or false', async (t) => {
  const config = load(t, [
    'tls:',
    '  certificates:',
    '    - { name: rsa, cert: c.pem, key: k.pem }',
    '    - { cert: c.pem, key: k.pem }',
    'outbound:',
    '  - { name: named, domains: [a.test], clientCertificate: rsa }',
    '  - { name: first, domains: [b.test], clientCertificate: true }',
    '  - { name: none, domains: [c.test] }',
  ]);
  const dir = t.testdirName;
  const file = join(dir, 'tlsrelay.yaml');
  t.strictSame(config.tls.certificates, [
    { name: 'rsa', cert: join(dir, 'c.pem'), key: join(dir, 'k.pem') },
    { name: undefined, cert: join(dir, 'c.pem'), key: join(dir, 'k.pem') },
  ]);
  t.equal(config.tls.cert, undefined, 'no single pair beside them');
  t.strictSame(config.places, {
    'tls.certificates[0].cert': `${file}:3:26`,
    'tls.certificates[0].key': `${file}:3:38`,
    'tls.certificates[1].cert': `${file}:4:15`,
    'tls.certificates[1].key': `${file}:4:27`,
  });
  t.strictSame(config.outbound.map((connector) => connector.clientCertificate), ['rsa', true, false]);
  t.equal(config.listeners[0]?.tls, 'starttls', 'the list is our certificate for the default listener');
});
