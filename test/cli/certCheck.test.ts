// `tlsrelay cert check FILE` as a command (dist/main.js): a partner's next certificate,
// or the relay's own, judged against the anchors and CRLs here, its dates and --name, and
// what each outbound connector would make of a next hop presenting it — with certificates
// and a CRL made at test time by openssl, and pins checked against openssl's digests.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CertCheckReport } from '../../src/cli/certCheckReport.js';
import { fencedBlocks, readmeSection } from '../helpers/docText.js';
import { makeCa, makeCert, makeCrl, opensslCertificate } from '../helpers/pki.js';
import { runCli, writeConfig } from '../helpers/relayProcess.js';
import { runTool } from '../helpers/tools.js';

const DAY = 86_400_000;
const root = await opensslCertificate({ subject: '/CN=Fabrikam Root CA/O=Fabrikam', ca: true });
const issuing = await opensslCertificate({ subject: '/CN=Fabrikam Issuing CA/O=Fabrikam', ca: true, issuer: root });
const current = await opensslCertificate({ subject: '/CN=mail.fabrikam.test', issuer: issuing, extensions: ['subjectAltName = DNS:mail.fabrikam.test'] });
// the partner's next certificate: a new key, and a second name
const next = await opensslCertificate({ subject: '/CN=mail.fabrikam.test', issuer: issuing, extensions: ['subjectAltName = DNS:mail.fabrikam.test, DNS:mx2.fabrikam.test'] });

async function spkiPin(pem: string): Promise<string> {
  const dir = t.testdir({ 'c.pem': pem });
  const { output } = await runTool('sh', ['-c', `openssl x509 -in ${join(dir, 'c.pem')} -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -r`]);
  return `sha256:${output.split(' ')[0]!}`;
}

/** A config trusting the Fabrikam root, with connectors that pin the current certificate's key and verify its name. */
async function config(dir: string, crl?: string): Promise<string> {
  writeFileSync(join(dir, 'root.pem'), root.cert);
  if (crl !== undefined) writeFileSync(join(dir, 'issuing.crl'), crl);
  return writeConfig(
    dir,
    `listeners: [{ name: lan, port: 0, tls: none }]
tls: { trust: [root.pem]${crl === undefined ? '' : ', crl: [issuing.crl]'} }
queue: { dir: spool }
outbound:
  - { name: pinned, domains: [pinned.test], tls: fingerprint, fingerprints: ["${await spkiPin(current.cert)}"] }
  - { name: named, domains: [fabrikam.test], tls: verify, tlsNames: [mail.fabrikam.test] }
  - { name: by-smart-host, domains: [mx2.test], smartHosts: [mx2.fabrikam.test], tls: verify }
  - { name: by-mx, domains: [mx.test], tls: verify }
  - { name: chain-only, domains: [ca.test], tls: verify-ca }
  - { name: published, domains: [dane.test], tls: dane }
  - { name: anything, domains: ["*"], tls: encrypt }
`,
  );
}

async function check(t: Test, file: string, certificate: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string; json: CertCheckReport }> {
  // beside the config: a second t.testdir() would replace the folder that holds it
  const path = join(dirname(file), 'candidate.pem');
  writeFileSync(path, certificate);
  const [text, json] = await Promise.all([runCli(['cert', 'check', path, ...args, '-c', file]), runCli(['cert', 'check', path, ...args, '--json', '-c', file])]);
  t.equal(json.code, text.code, '--json exits as the text form does');
  return { ...text, json: JSON.parse(json.stdout) as CertCheckReport };
}

const connector = (report: CertCheckReport, name: string) => report.connectors.find((entry) => entry.connector === name)!;

t.test("the partner's current certificate with its chain: trusted, in date, every connector satisfied", async (t) => {
  const file = await config(t.testdir());
  const { code, stdout, stderr, json } = await check(t, file, current.cert + issuing.cert, ['--name', 'mail.fabrikam.test']);
  t.equal(code, 0, stderr);
  t.equal(stderr, '');
  t.match(json, { trusted: true, trustError: null, validity: { state: 'valid', daysLeft: 89 }, revocation: { status: 'good' }, failures: [] });
  t.strictSame(json.names, [{ name: 'mail.fabrikam.test', held: true }]);
  t.match(json.chain, { complete: true, rootIssuer: 'Fabrikam Root CA', path: [{ from: 'file' }, { from: 'file' }, { from: 'tls.trust' }] });
  t.match(connector(json, 'pinned'), { level: 'fingerprint', pins: { matched: true }, outcome: { action: 'deliver-over-tls', verdict: 'pinned' } });
  t.match(connector(json, 'named'), { names: [{ name: 'mail.fabrikam.test', held: true }], outcome: { action: 'deliver-over-tls', verdict: 'verified' } });
  t.match(connector(json, 'by-smart-host'), { names: [{ name: 'mx2.fabrikam.test', held: false }], outcome: { action: 'defer', response: /^450 4\.7\.5 Server certificate not verified for host mx2\.fabrikam\.test: the certificate names none of mx2\.fabrikam\.test/ } });
  t.match(connector(json, 'by-mx'), { names: [{ name: 'mail.fabrikam.test', held: true }], outcome: { action: 'deliver-over-tls' } }, '--name stands for the MX host');
  t.strictSame(connector(json, 'pinned').names, [], 'a pin checks no name');
  t.match(connector(json, 'chain-only'), { outcome: { action: 'deliver-over-tls', verdict: 'verified' } });
  t.match(connector(json, 'published'), { outcome: { action: 'not-judged', why: /TLSA records/ } });
  t.match(connector(json, 'anything'), { outcome: { action: 'deliver-over-tls' } });
  t.match(stdout, /^cert check .*candidate\.pem\n {2}verdict +fine: trusted here, in date, holds every name asked for\n/);
  t.match(stdout, /\n {2}trusted here +yes: leads to Fabrikam Root CA \(tls\.trust .*root\.pem\)\n/);
  t.match(stdout, /\n {2}pinned \(fingerprint\) +deliver over TLS \(logged pinned\)\n {4}pins +one matches: sha256:/);
});

t.test("preparing for the partner's next certificate: a new key no pin matches, a name gained", async (t) => {
  const file = await config(t.testdir());
  const { code, json, stdout } = await check(t, file, next.cert + issuing.cert, ['--name', 'mx2.fabrikam.test']);
  t.equal(code, 0, 'trusted, in date, holds the name asked: the connectors are the news, not a failure');
  t.match(connector(json, 'pinned'), { pins: { matched: false }, outcome: { action: 'defer', response: /no configured fingerprint matches the certificate/ } });
  t.match(connector(json, 'by-smart-host'), { names: [{ held: true }], outcome: { action: 'deliver-over-tls', verdict: 'verified' } });
  t.match(stdout, /\n {2}pinned \(fingerprint\) +defer: 450 4\.7\.5 .*\n {4}pins +none matches: sha256:/);

  const [example] = fencedBlocks(readmeSection('### Preparing for a new certificate'), 'console');
  const [command, ...documented] = example!.split('\n');
  t.equal(command, '$ tlsrelay cert check /etc/tlsrelay/candidate.pem --name mx2.fabrikam.test -c /etc/tlsrelay/tlsrelay.yaml', "README's example is this check");
  const aside = (text: string): string =>
    text
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<date>')
      .replace(/sha256:[0-9a-f]{64}/g, '<pin>')
      .replace(/\d+ days left/g, '<n> days left');
  t.equal(aside(stdout.replaceAll(dirname(file), '/etc/tlsrelay')), aside(documented.join('\n')), "README's example is what the command prints (dates and pins aside)");
});

t.test('what fails: a chain that stops short, a name not held', async (t) => {
  const file = await config(t.testdir());
  const short = await check(t, file, current.cert, ['--name', 'other.fabrikam.test']);
  t.equal(short.code, 1);
  t.match(short.json, { trusted: false, trustError: /^the file ends at "CN=mail\.fabrikam\.test", whose issuer "CN=Fabrikam Issuing CA, O=Fabrikam" is neither in the file nor a trust anchor here/ });
  t.match(short.json.failures, [/^not trusted here: the file ends at/, 'does not hold the name other.fabrikam.test']);
  t.equal(short.json.failures.length, 2);
  t.match(connector(short.json, 'chain-only'), { outcome: { action: 'defer', response: /^450 4\.7\.5 Server certificate not verified for host .*: the file ends at/ } });
  t.match(connector(short.json, 'pinned'), { outcome: { action: 'deliver-over-tls', verdict: 'pinned' } }, 'a pin does not need the chain');
});

t.test('what fails: a certificate not yet valid, one expired', async (t) => {
  const ca = await makeCa('Fabrikam Dev CA');
  const dir = t.testdir({ 'dev-ca.pem': ca.cert });
  const file = writeConfig(dir, 'listeners: [{ name: lan, port: 0, tls: none }]\ntls: { trust: [dev-ca.pem] }\nqueue: { dir: spool }\noutbound: [{ name: chain-only, domains: [ca.test], tls: verify-ca }]\n');
  const later = await makeCert({ names: ['mail.fabrikam.test'], ca, notBefore: new Date(Date.now() + 10 * DAY), notAfter: new Date(Date.now() + 100 * DAY) });
  const early = await check(t, file, later.cert);
  t.equal(early.code, 1);
  t.match(early.json, { validity: { state: 'not-yet-valid' }, trusted: true, failures: [/^not valid before /] });
  t.equal(early.json.failures.length, 1, 'the dates, once');
  t.match(connector(early.json, 'chain-only'), { outcome: { action: 'defer', response: /: the certificate is not valid before / } });
  t.match(early.stdout, /\n {2}validity +\S+ to \S+ \(not yet valid: from \S+\)\n/);
  // a day and a bit past its end: whole days are counted, as the expiry warnings count them
  const expired = await makeCert({ names: ['mail.fabrikam.test'], ca, notBefore: new Date(Date.now() - 100 * DAY), notAfter: new Date(Date.now() - 2 * DAY + 3_600_000) });
  const past = await check(t, file, expired.cert);
  t.equal(past.code, 1);
  t.match(past.json, { validity: { state: 'expired', daysLeft: -2 }, failures: [/^expired on /] });
  t.match(connector(past.json, 'chain-only'), { outcome: { action: 'defer', response: /: the certificate expired on / } });
  t.match(past.stdout, /\(expired 2 days ago\)/);
});

t.test('what fails: a certificate tls.crl revokes', async (t) => {
  const file = await config(t.testdir(), await makeCrl(issuing, { revoked: [current.cert] }));
  const revoked = await check(t, file, current.cert + issuing.cert);
  t.equal(revoked.code, 1);
  t.match(revoked.json, { revocation: { status: 'failed', reason: 'certificate has been revoked (CERT_REVOKED)' }, trusted: false, trustError: 'certificate has been revoked (CERT_REVOKED)' });
  t.match(revoked.stdout, /\n {2}CRLs \(tls\.crl\) +certificate has been revoked \(CERT_REVOKED\)\n/);
});

t.test('errors: a file that is no certificate exits 2; usage errors 64', async (t) => {
  const dir = t.testdir({ 'not.pem': 'hello\n' });
  const file = await config(dir);
  const broken = await runCli(['cert', 'check', join(dir, 'not.pem'), '-c', file]);
  t.equal(broken.code, 2);
  t.match(broken.stderr, /not\.pem: no PEM certificate found\n$/);
  const missing = await runCli(['cert', 'check', join(dir, 'missing.pem'), '-c', file]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read the certificate file .*missing\.pem/);
  for (const [args, reason] of [
    [['cert', 'check'], 'check needs the FILE of a certificate'],
    [['cert', 'check', 'a.pem', 'b.pem'], 'unexpected argument "b.pem"'],
    [['cert', 'info', '--name', 'x.test'], '--name is for cert check'],
  ] as const) {
    const result = await runCli([...args, '-c', file]);
    t.equal(result.code, 64, args.join(' '));
    t.match(result.stderr, `tlsrelay cert: ${reason}`);
  }
});
