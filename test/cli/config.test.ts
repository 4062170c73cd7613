// `tlsrelay config schema` and `tlsrelay config show` as an administrator runs them (dist/).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT, runCli, writeConfig } from '../helpers/relayProcess.js';

const HASH = '$scrypt$ln=10,r=8,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI';

t.test('config schema prints the shipped schema, and only it', async (t) => {
  const result = await runCli(['config', 'schema']);
  t.equal(result.code, 0);
  t.equal(result.stderr, '');
  t.equal(result.stdout, readFileSync(join(PROJECT_ROOT, 'config', 'tlsrelay.schema.json'), 'utf8'));
});

t.test('config show prints every key after defaults as YAML, --json the same as JSON; hashes never', async (t) => {
  const dir = t.testdir({ 'c.pem': 'cert', 'k.pem': 'key' });
  const file = writeConfig(dir, ['tls: { cert: c.pem, key: k.pem }', `auth: { users: [{ name: scanner, passwordHash: "${HASH}" }] }`, 'smtp: { idleTimeout: 90s }', ''].join('\n'));
  const yaml = await runCli(['config', 'show', '-c', file]);
  const json = await runCli(['config', 'show', '--json', '-c', file]);
  for (const result of [yaml, json]) {
    t.equal(result.code, 0);
    t.equal(result.stderr, '');
    t.notMatch(result.stdout, HASH.slice(20), 'the hash is not printed');
  }
  const shown = parse(yaml.stdout) as Record<string, Record<string, unknown>>;
  t.strictSame(JSON.parse(json.stdout), shown, 'one view, two notations');
  t.match(yaml.stdout, /^  retry: \[1m, 5m, 15m, 30m, 1h, 2h, 4h\]$/m, 'lists of values on one line');
  t.strictSame(shown.auth, { users: [{ name: 'scanner', passwordHash: '[redacted]' }], maxFailuresPerIp: 5 });
  t.strictSame(shown.smtp, { maxMessageSize: 52428800, maxRecipients: 100, maxClients: 1000, maxConnectionsPerIp: 20, maxMessagesPerConnection: 100, maxHops: 50, idleTimeout: '90s', handshakeTimeout: '30s', minDataRate: 500, bareLineEndings: 'reject' });
  t.same(Object.keys(shown), ['server', 'listeners', 'tls', 'dns', 'queue', 'delivery', 'smtp', 'auth', 'acceptedDomains', 'inbound', 'outbound', 'report', 'tlsRpt', 'admin', 'log'], 'every section, in the order of the reference');
});

t.test('config show -n prints only what the file sets', async (t) => {
  const dir = t.testdir({ 'c.pem': 'cert', 'k.pem': 'key' });
  const file = writeConfig(dir, 'tls: { cert: c.pem, key: k.pem }\nsmtp: { idleTimeout: 90s }\n');
  const result = await runCli(['config', 'show', '-n', '-c', file]);
  t.equal(result.code, 0);
  t.equal(result.stdout, `tls:\n  cert: ${join(dir, 'c.pem')}\n  key: ${join(dir, 'k.pem')}\nsmtp:\n  idleTimeout: 90s\n`);
});

t.test('an invalid config: its problems on stderr, exit 2, nothing on stdout', async (t) => {
  const dir = t.testdir({});
  const file = writeConfig(dir, 'tls: { cert: c.pem, key: k.pem }\nsmtp: { idleTimout: 90s }\n');
  const result = await runCli(['config', 'show', '-c', file]);
  t.equal(result.code, 2);
  t.equal(result.stdout, '');
  t.match(result.stderr, `${file}:2:9: smtp.idleTimout: unknown key (did you mean "idleTimeout"?)`);
});

t.test('usage errors exit 64 and print nothing on stdout', async (t) => {
  for (const args of [['config'], ['config', 'frob'], ['config', 'schema', '--json'], ['config', 'show', 'extra'], ['config', 'show', '--yaml']]) {
    const result = await runCli(args);
    t.equal(result.code, 64, args.join(' '));
    t.equal(result.stdout, '', args.join(' '));
    t.match(result.stderr, /^tlsrelay config: /, args.join(' '));
  }
});
