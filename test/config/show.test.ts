// `config show`'s view of a loaded config: every key with its value after defaults,
// written as a config file writes it — so that, secrets put back, it loads to the same config.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Ajv } from 'ajv';
import { loadConfig } from '../../src/config/load.js';
import { SYSTEM_HOSTNAME } from '../helpers/config.js';
import { effectiveConfig } from '../../src/config/show.js';
import { configSchema } from '../../src/config/schema.js';
import { EVERY_KEY_YAML, writeWithFiles } from './example-config.js';
import { load, TLS_LINE, writeConfig } from './helpers.js';

const EXAMPLE_HASH = /passwordHash: "([^"]+)"/.exec(EVERY_KEY_YAML)![1]!;

t.test('every key, secrets redacted; put back, the output loads to the same config and passes the schema', async (t) => {
  const config = loadConfig(writeWithFiles(t, EVERY_KEY_YAML), SYSTEM_HOSTNAME);
  const shown = effectiveConfig(config);
  const yaml = stringify(shown);
  t.notMatch(yaml, EXAMPLE_HASH, 'no password hash');
  t.match(yaml, 'passwordHash: "[redacted]"');
  const restored = yaml.replaceAll('"[redacted]"', JSON.stringify(EXAMPLE_HASH));
  const again = join(dirname(config.file), 'again.yaml');
  writeFileSync(again, restored);
  // where each value stands differs between the two files, not what they say
  t.strictSame({ ...loadConfig(again, SYSTEM_HOSTNAME), file: config.file, places: config.places }, config);
  const validate = new Ajv({ strict: true, allowUnionTypes: true, keywords: ['patternErrorMessage'] }).compile(configSchema());
  t.ok(validate(parse(restored)), JSON.stringify(validate.errors));
});

t.test("the shared queue's URL is shown without its password", async (t) => {
  const config = load(t, [TLS_LINE, 'queue: { postgres: { url: "postgres://relay:s3cret@db.contoso.test:5433/mail" } }']);
  t.equal(config.queue.postgres?.url, 'postgres://relay:s3cret@db.contoso.test:5433/mail', 'the relay connects with the password');
  t.strictSame(effectiveConfig(config).queue, {
    dir: '/var/spool/tlsrelay',
    store: 'lmdb',
    retry: ['1m', '5m', '15m', '30m', '1h', '2h', '4h'],
    maxAge: '2d',
    delayNotice: '4h',
    postgres: { url: 'postgres://relay:***@db.contoso.test:5433/mail', leaseSeconds: 60, poolSize: 20 },
  });
});

t.test('left out, a key shows its default; with no value at all, null', async (t) => {
  const config = load(t, [TLS_LINE, 'outbound: [{ name: p, domains: [p.test], tls: verify }, { name: q, domains: ["*.q.test"], tls: fingerprint, fingerprints: ["sha256:' + 'AB'.repeat(32) + '"] }]', 'inbound: [{ name: lan, match: { ips: [10.0.0.0/8] } }]']);
  const dir = t.testdirName;
  t.strictSame(effectiveConfig(config), {
    server: { hostname: SYSTEM_HOSTNAME },
    listeners: [{ name: 'smtp', address: '127.0.0.1', port: 2525, tls: 'starttls', auth: 'none' }],
    tls: { cert: join(dir, 'c.pem'), key: join(dir, 'k.pem'), certificates: [], generateIfMissing: false, trust: [], crl: [], ocsp: 'off', ocspStapling: true, minVersion: 'TLSv1.2', ciphers: 'ECDHE+AESGCM:ECDHE+CHACHA20' },
    dns: { servers: [], dnssec: false },
    queue: { dir: '/var/spool/tlsrelay', store: 'lmdb', retry: ['1m', '5m', '15m', '30m', '1h', '2h', '4h'], maxAge: '2d', delayNotice: '4h', postgres: null },
    delivery: { port: 25, concurrency: 100, perHost: 10 },
    smtp: { maxMessageSize: 52428800, maxRecipients: 100, maxClients: 1000, maxConnectionsPerIp: 20, maxMessagesPerConnection: 100, maxHops: 50, idleTimeout: '5m', handshakeTimeout: '30s', minDataRate: 500, bareLineEndings: 'reject' },
    auth: { users: [], maxFailuresPerIp: 5 },
    acceptedDomains: [],
    inbound: [{ name: 'lan', match: { ips: ['10.0.0.0/8'], certificateNames: null, senderDomains: null }, require: { tls: false, certificateNames: null, ips: null }, relay: false }],
    outbound: [
      // tlsNames only where it applies (tls: verify), fingerprints likewise
      { name: 'p', domains: ['p.test'], smartHosts: [], tls: 'verify', tlsNames: [], minVersion: 'TLSv1.2', ciphers: null, crl: [], clientCertificate: false, mtaSts: true, maxAge: '2d' },
      { name: 'q', domains: ['*.q.test'], smartHosts: [], tls: 'fingerprint', fingerprints: [`sha256:${'ab'.repeat(32)}`], minVersion: 'TLSv1.2', ciphers: null, crl: [], clientCertificate: false, mtaSts: true, maxAge: '2d' },
    ],
    report: { retention: '30d' },
    tlsRpt: { enabled: false, organization: config.server.hostname, contact: `postmaster@${config.server.hostname}`, interval: '1d' },
    admin: null,
    log: { level: 'info', format: null },
  });
});

t.test('with the file as written: only the keys it sets (postconf -n), with their values as loaded', async (t) => {
  const lines = [
    TLS_LINE,
    'listeners: [{ name: mx, port: 25 }]',
    'queue: { retry: [90m, 1d] }',
    'acceptedDomains: [Contoso.TEST.]',
    'outbound: [{ name: p, domains: [p.test], smartHosts: [mx.p.test], plaintextFallback: false }]',
    'log:',
  ];
  const file = writeConfig(t, lines);
  const dir = t.testdirName;
  t.strictSame(effectiveConfig(loadConfig(file, SYSTEM_HOSTNAME), parse(lines.join('\n'))), {
    listeners: [{ name: 'mx', port: 25 }],
    tls: { cert: join(dir, 'c.pem'), key: join(dir, 'k.pem') },
    queue: { retry: ['90m', '1d'] },
    acceptedDomains: ['contoso.test'],
    outbound: [{ name: 'p', domains: ['p.test'], smartHosts: ['mx.p.test:25'], plaintextFallback: false }],
  }, 'log: with no value sets nothing');
});

t.test('the contents of our key file are never part of it, only its path', async (t) => {
  const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-this-is-the-key';
  const file = writeConfig(t, [TLS_LINE]);
  writeFileSync(join(t.testdirName, 'k.pem'), `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`);
  const shown = JSON.stringify(effectiveConfig(loadConfig(file, SYSTEM_HOSTNAME)));
  t.notMatch(shown, secret);
  t.match(shown, JSON.stringify(join(t.testdirName, 'k.pem')));
});
