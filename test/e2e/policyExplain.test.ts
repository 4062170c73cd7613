import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runCli, writeConfig } from '../helpers/relayProcess.js';

// `tlsrelay policy explain` through the built binary: the human text carries the key
// facts, --json is one JSON document alone on stdout, mistakes exit 64 and a bad config 2.

const CONFIG = `
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
acceptedDomains: [contoso.test]
inbound:
  - name: partner-fabrikam
    match: { senderDomains: [fabrikam.test] }
    require: { tls: true, certificateNames: [mail.fabrikam.test], ips: [198.51.100.0/24] }
  - name: local
    match: { ips: [127.0.0.1/32] }
    relay: true
outbound:
  - name: partner-fabrikam
    domains: [fabrikam.test, "*.fabrikam.test"]
    tls: verify
    tlsNames: [mail.fabrikam.test]
    smartHosts: ["[::1]:2626", gw.fabrikam.test]
    maxAge: 1d
  - name: idn
    domains: [bücher.test]
    tls: encrypt
  - name: partner-by-mx
    domains: [litware.test]
    tls: verify
`;

t.test('outbound, for a person: connector, why, level in words, route and the deferrals', async (t) => {
  const file = writeConfig(t.testdir(), CONFIG);
  const result = await runCli(['policy', 'explain', 'mail.Fabrikam.test', '-c', file]);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  const lines = result.stdout.split('\n');
  t.equal(lines[0], 'outbound mail for mail.Fabrikam.test (mail.fabrikam.test)');
  t.match(result.stdout, /\n {2}connector +partner-fabrikam\n/);
  t.match(result.stdout, /\n {2}why +domain "mail\.fabrikam\.test" matched pattern "\*\.fabrikam\.test" of connector "partner-fabrikam"\n/);
  t.match(result.stdout, /\n {2}TLS level +verify: STARTTLS required; the certificate must chain to a trusted root \(system roots or tls\.trust\) and name one of mail\.fabrikam\.test\n/);
  t.match(result.stdout, /\n {2}route +smart hosts \[::1\]:2626, gw\.fabrikam\.test:25 \(tried in this order\)\n/);
  t.match(result.stdout, /\n {2}maxAge +1d: /);
  t.match(result.stdout, /\n {4}does not offer STARTTLS +defer: 450 4\.7\.4 TLS is required, but was not offered by host <host>\n/);
  t.match(result.stdout, /\n {4}presents a certificate that fails every check +defer: 450 4\.7\.5 Server certificate not verified for host <host>: <reason>\n/);
  t.notMatch(result.stdout, /plaintextFallback/, 'plaintextFallback is shown for opportunistic only');
});

t.test('outbound: a Unicode domain is shown with its punycode form; an unnamed domain gets the implicit default', async (t) => {
  const file = writeConfig(t.testdir(), CONFIG);
  const idn = await runCli(['policy', 'explain', 'Bücher.test', '-c', file]);
  t.equal(idn.code, 0, idn.stderr);
  t.match(idn.stdout, /^outbound mail for Bücher\.test \(xn--bcher-kva\.test\)\n {2}connector +idn\n/);

  const other = await runCli(['policy', 'explain', 'example.test', '-c', file]);
  t.equal(other.code, 0, other.stderr);
  t.match(other.stdout, /\n {2}connector +default \(implicit\)\n/);
  t.match(other.stdout, /\n {2}route +MX of example\.test on port 25 \(not looked up\)\n/);
  t.match(other.stdout, /\n {2}plaintextFallback +yes\n/);
  t.match(other.stdout, /\n {4}fails the TLS handshake +retry the same host in plaintext on a new connection\n/);
});

t.test('outbound --json: one JSON document and nothing else on stdout', async (t) => {
  const file = writeConfig(t.testdir(), CONFIG);
  const result = await runCli(['policy', 'explain', '--json', 'fabrikam.test', '-c', file]);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  const document = JSON.parse(result.stdout) as Record<string, unknown>;
  t.match(document, {
    direction: 'outbound',
    asGiven: 'fabrikam.test',
    domain: 'fabrikam.test',
    connector: 'partner-fabrikam',
    implicit: false,
    tls: { level: 'verify', tlsNames: ['mail.fabrikam.test'], plaintextFallback: null },
    route: { kind: 'smart-hosts', hosts: ['[::1]:2626', 'gw.fabrikam.test:25'] },
    maxAge: '1d',
  });
  t.same((document.outcomes as Array<{ event: string }>).map((entry) => entry.event), [
    'starttls-not-offered',
    'starttls-refused',
    'starttls-refused-and-closed',
    'handshake-failed',
    'certificate-fails',
  ]);
});

t.test('inbound, for a person: facts, assumption, connector, requirements, MAIL FROM replies, relaying', async (t) => {
  const file = writeConfig(t.testdir(), CONFIG);
  const args = ['policy', 'explain', '--inbound', '203.0.113.9', '--sender', 'alice@fabrikam.test', '--cert-name', 'mail.fabrikam.test', '-c', file];
  const result = await runCli(args);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  t.match(result.stdout, /^inbound session from 203\.0\.113\.9\n/);
  t.match(result.stdout, /\n {2}sender +alice@fabrikam\.test\n/);
  t.match(result.stdout, /\n {2}assuming +the client presents, after STARTTLS, a certificate naming mail\.fabrikam\.test that chains to a trusted root/);
  t.match(result.stdout, /\n {2}connector +partner-fabrikam\n {2}why +inbound connector "partner-fabrikam" selected: its senderDomains match\n/);
  t.match(result.stdout, /\n {2}requires +STARTTLS; a trusted client certificate naming mail\.fabrikam\.test; client IP in 198\.51\.100\.0\/24\n/);
  t.match(result.stdout, /\n {2}MAIL FROM +after STARTTLS, with the certificate: 550 5\.7\.1 Connector "partner-fabrikam" does not accept this sender from 203\.0\.113\.9\n/);
  t.match(result.stdout, /\n {2}relaying +only to accepted domains \(contoso\.test\); any other recipient gets 550 5\.7\.1 Relaying denied\n/);
});

t.test('inbound --json: an IPv4-mapped address counts as IPv4, and the document stands alone', async (t) => {
  const file = writeConfig(t.testdir(), CONFIG);
  const result = await runCli(['policy', 'explain', '--inbound', '::ffff:127.0.0.1', '--json', '-c', file]);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  t.match(JSON.parse(result.stdout), {
    direction: 'inbound',
    client: { ip: '127.0.0.1', sender: null, certificateName: null },
    connector: { name: 'local', relay: true },
    mailFrom: [
      { session: 'without-starttls', verdict: { ok: true } },
      { session: 'starttls-without-certificate', verdict: { ok: true } },
    ],
    relaying: { to: 'any-domain' },
  });
});

t.test('bad arguments exit 64 with the reason and the usage, and nothing on stdout', async (t) => {
  // every argument check is covered in-process (test/cli/policyExplain.test.ts); these show the exit path
  const cases: Array<[string[], RegExp]> = [
    [['policy', 'explain', 'bad..name'], /^tlsrelay policy: "bad\.\.name" is not a domain name\n/],
    [['policy', 'explain', 'a.test', '--verbose'], /^tlsrelay policy: Unknown option '--verbose'/],
  ];
  for (const [args, message] of cases) {
    // the config does not exist: arguments are checked first
    const result = await runCli([...args, '-c', '/nonexistent/tlsrelay.yaml']);
    const what = args.join(' ');
    t.equal(result.code, 64, `${what} exits 64`);
    t.match(result.stderr, message, `${what}: says what is wrong`);
    t.match(result.stderr, /policy explain DOMAIN/, `${what}: shows the usage`);
    t.equal(result.stdout, '', `${what}: nothing on stdout`);
  }
});

t.test('a bad config is reported as file:line:col and exits 2, as for every command', async (t) => {
  const file = writeConfig(t.testdir(), 'outbound:\n  - name: partner\n    domains: [fabrikam.test]\n    tls: mandatory\n');
  const result = await runCli(['policy', 'explain', '--inbound', '127.0.0.1', '--json', '-c', file]);
  t.equal(result.code, 2);
  t.match(result.stderr, `${file}:4:10: `);
  t.equal(result.stdout, '', 'no explanation from a config that does not load');
});

t.test("README's examples are what the command prints", async (t) => {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  // the --lookup example needs the domain's DNS: test/e2e/policyExplainLookup.test.ts checks it
  const examples = [...readme.matchAll(/^\$ tlsrelay (policy explain (?!.*--lookup).*)\n((?:(?!\$ |```).*\n)+)/gm)];
  t.equal(examples.length, 2, 'an outbound and an inbound example');
  for (const [, command = '', shown = ''] of examples) {
    const result = await runCli(command.split(' '));
    t.equal(result.code, 0, result.stderr);
    t.equal(result.stdout, shown.replace(/\n\n$/, '\n'), command);
  }
});

t.test('verify without tlsNames on an MX route: text and --json warn that the name comes from DNS', async (t) => {
  const file = writeConfig(t.testdir(), CONFIG);
  const text = await runCli(['policy', 'explain', 'litware.test', '-c', file]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /\n {2}warning +verify without tlsNames checks the certificate against the MX host name, and that name comes from DNS: without DNSSEC an attacker on the path can answer the MX query/);
  const json = await runCli(['policy', 'explain', '--json', 'litware.test', '-c', file]);
  t.match(JSON.parse(json.stdout), { warnings: [/^verify without tlsNames checks the certificate against the MX host name/] });
  const named = await runCli(['policy', 'explain', '--json', 'fabrikam.test', '-c', file]);
  t.same((JSON.parse(named.stdout) as { warnings: string[] }).warnings, [], 'with tlsNames: none');
  t.notMatch((await runCli(['policy', 'explain', 'fabrikam.test', '-c', file])).stdout, /warning/);
});
