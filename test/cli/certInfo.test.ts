// `tlsrelay cert info` as a command (dist/main.js): what it prints about the certificate
// the relay serves, checked against what openssl says about the same file, for a chain
// that leads to a tls.trust root, one that stops short, a self-signed certificate and a
// system root; its --json document; and its exits.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { makeCert, opensslCertificate, type KeyPair } from '../helpers/pki.js';
import { runCli, writeConfig } from '../helpers/relayProcess.js';
import { runTool } from '../helpers/tools.js';
import { readmeSection, fencedBlocks } from '../helpers/docText.js';
import type { CertInfoReport } from '../../src/cli/certReport.js';
import { parseFingerprint } from '../../src/config/fingerprint.js';

const root = await opensslCertificate({ subject: '/CN=Contoso Root CA/O=Contoso Ltd', ca: true, newKey: 'rsa:3072' });
const rootSigned = await opensslCertificate({ subject: '/CN=mx.contoso.test', issuer: root });
const intermediate = await opensslCertificate({ subject: '/CN=Contoso Issuing CA/O=Contoso Ltd', ca: true, issuer: root });
const leaf = await opensslCertificate({
  subject: '/CN=relay.contoso.test/O=Contoso Ltd/OU=Mail/OU=Relays',
  issuer: intermediate,
  newKey: 'rsa:2048',
  serial: '0A1B2C3D',
  days: 60,
  extensions: [
    'subjectAltName = DNS:relay.contoso.test, DNS:mail.contoso.test, IP:192.0.2.10',
    'authorityInfoAccess = OCSP;URI:http://ocsp.contoso.test/, caIssuers;URI:http://pki.contoso.test/issuing.crt',
    'crlDistributionPoints = URI:http://crl.contoso.test/issuing.crl',
  ],
});

/** A config serving `cert` (PEM, the chain after the leaf) on a STARTTLS listener, with `root` trusted. */
function configServing(dir: string, cert: string, key: string, extra = ''): string {
  writeFileSync(join(dir, 'relay.crt'), cert);
  writeFileSync(join(dir, 'relay.key'), key);
  writeFileSync(join(dir, 'root.crt'), root.cert);
  return writeConfig(
    dir,
    `server: { hostname: relay.contoso.test }
listeners: [{ name: mx, port: 0 }, { name: submission, port: 0, tls: implicit }, { name: lan, port: 0, tls: none }]
tls: { cert: relay.crt, key: relay.key, trust: [root.crt] }
queue: { dir: spool }
outbound:
  - { name: partner, domains: [fabrikam.test], tls: verify, clientCertificate: true }
  - { name: internet, domains: ["*"] }
${extra}`,
  );
}

async function openssl(pem: string, ...args: string[]): Promise<string> {
  const dir = t.testdir({ 'c.pem': pem });
  const { code, output } = await runTool('sh', ['-c', `openssl x509 -in ${join(dir, 'c.pem')} -noout ${args.join(' ')}`]);
  if (code !== 0) throw new Error(output);
  return output.trim();
}

async function info(file: string): Promise<{ json: CertInfoReport; text: string }> {
  const [asJson, asText] = await Promise.all([runCli(['cert', 'info', '--json', '-c', file]), runCli(['cert', 'info', '-c', file])]);
  for (const result of [asJson, asText]) {
    if (result.code !== 0 || result.stderr !== '') throw new Error(`exit ${result.code}: ${result.stderr}`);
  }
  return { json: JSON.parse(asJson.stdout) as CertInfoReport, text: asText.stdout };
}

t.test('a chain in the file up to a tls.trust root: every fact, as openssl reads the file', async (t) => {
  const dir = t.testdir();
  const file = configServing(dir, leaf.cert + intermediate.cert, leaf.key);
  const { json, text } = await info(file);
  t.equal(json.certificates.length, 1);
  const [report] = json.certificates;
  const colonless = (line: string): string => line.replace(/^.*=/, '').replace(/:/g, '').toLowerCase();
  const spkiSha256 = (await runTool('sh', ['-c', `openssl x509 -in ${join(dir, 'relay.crt')} -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -r`])).output.split(' ')[0]!;
  t.match(report, {
    setting: 'tls.cert',
    name: null,
    file: join(dir, 'relay.crt'),
    where: `${file}:3:14`,
    keyFile: join(dir, 'relay.key'),
    servedBy: ['mx', 'submission'],
    presentedBy: ['partner'],
  });
  t.strictSame(report!.chain, {
    complete: true,
    rootIssuer: 'Contoso Root CA',
    problem: null,
    path: [
      { subject: 'CN=relay.contoso.test, O=Contoso Ltd, OU=Mail, OU=Relays', notAfter: new Date(new X509Certificate(leaf.cert).validTo).toISOString(), from: 'file' },
      { subject: 'CN=Contoso Issuing CA, O=Contoso Ltd', notAfter: new Date(new X509Certificate(intermediate.cert).validTo).toISOString(), from: 'file' },
      { subject: 'CN=Contoso Root CA, O=Contoso Ltd', notAfter: new Date(new X509Certificate(root.cert).validTo).toISOString(), from: 'tls.trust', file: join(dir, 'root.crt') },
    ],
  });
  const notAfter = new Date((await openssl(leaf.cert, '-enddate')).replace('notAfter=', ''));
  t.strictSame(report!.certificate, {
    subject: 'CN=relay.contoso.test, O=Contoso Ltd, OU=Mail, OU=Relays',
    issuer: 'CN=Contoso Issuing CA, O=Contoso Ltd',
    commonName: 'relay.contoso.test',
    organization: ['Contoso Ltd'],
    organizationalUnit: ['Mail', 'Relays'],
    dnsNames: ['relay.contoso.test', 'mail.contoso.test'],
    ipAddresses: ['192.0.2.10'],
    key: { type: 'RSA', bits: 2048, curve: null },
    // signed by the intermediate's EC key
    signatureAlgorithm: 'ECDSA with SHA-256',
    notBefore: new Date((await openssl(leaf.cert, '-startdate')).replace('notBefore=', '')).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: 59,
    serial: (await openssl(leaf.cert, '-serial')).replace('serial=', ''),
    fingerprints: { certificate: `sha256:${colonless(await openssl(leaf.cert, '-fingerprint', '-sha256'))}`, publicKey: `sha256:${spkiSha256}` },
    ocspResponders: ['http://ocsp.contoso.test/'],
    caIssuers: ['http://pki.contoso.test/issuing.crt'],
    crlDistributionPoints: ['http://crl.contoso.test/issuing.crl'],
  });
  t.equal(report!.certificate.serial, '0A1B2C3D');
  for (const pin of Object.values(report!.certificate.fingerprints)) t.ok(parseFingerprint(pin), `${pin} is a pin a connector's fingerprints take`);

  // the rows partners ask for, in the order of Exchange Online's table, then the details
  const partnerRows = text.split('\n').slice(3, 10);
  t.match(partnerRows, [
    /^ {2}for partners/,
    /^ {4}root issuer +Contoso Root CA \(tls\.trust .*root\.crt\)$/,
    /^ {4}certificate name +relay\.contoso\.test$/,
    /^ {4}organization +Contoso Ltd$/,
    /^ {4}key strength +RSA 2048 bits$/,
    /^ {4}validity +\S+ to \S+ \(59 days left\)$/,
    /^ {2}details$/,
  ]);
  t.match(text, /^tls\.cert .*relay\.crt\n {2}served by +listeners mx, submission\n {2}presented by +outbound connectors partner \(clientCertificate: true\)\n/);
  t.match(text, /\n {4}names \(SAN\) +relay\.contoso\.test, mail\.contoso\.test, IP 192\.0\.2\.10\n/);
  t.match(text, /\n {4}organizational unit +Mail, Relays\n/);
  t.match(text, `    public key pin       ${report!.certificate.fingerprints.publicKey} (`);
  t.match(text, `    certificate pin      ${report!.certificate.fingerprints.certificate} (`);
  t.match(text, /\n {4}OCSP responder +http:\/\/ocsp\.contoso\.test\/\n/);
  t.match(text, /\n {4}CRL distribution +http:\/\/crl\.contoso\.test\/issuing\.crl\n/);
  t.match(text, /\n {4}chain +CN=relay\.contoso\.test.* \(in the file; until .*\)\n {25}CN=Contoso Issuing CA.*\(in the file; .*\n {25}CN=Contoso Root CA.*\(tls\.trust .*root\.crt; .*\)\n {4}chain complete +yes/);
  const valueColumns = new Set(text.split('\n').filter((line) => /^ {2,4}[a-zA-Z]/.test(line) && !/^ {2}(for partners|details)/.test(line)).map((line) => line.search(/(?<=\S {2,})\S/)));
  t.strictSame([...valueColumns], [25], 'one column of values');
});

t.test('the file without its intermediate: incomplete, naming the issuer a partner would miss', async (t) => {
  const dir = t.testdir();
  const { json, text } = await info(configServing(dir, leaf.cert, leaf.key));
  const { chain } = json.certificates[0]!;
  t.equal(chain.complete, false);
  t.equal(chain.rootIssuer, null);
  t.equal(chain.path.length, 1);
  t.equal(
    chain.problem,
    'the file ends at "CN=relay.contoso.test, O=Contoso Ltd, OU=Mail, OU=Relays", whose issuer "CN=Contoso Issuing CA, O=Contoso Ltd" is neither in the file nor a trust anchor here: add the missing intermediate certificates after it in the file',
  );
  t.match(text, /\n {4}root issuer +not found: the chain in the file stops short of a root \(see chain\)\n/);
  t.match(text, /\n {4}chain complete +no: the file ends at /);
});

t.test('intermediates in any order, and the root in the file too: still complete, the root from tls.trust', async (t) => {
  const dir = t.testdir();
  const { json } = await info(configServing(dir, leaf.cert + root.cert + intermediate.cert, leaf.key));
  t.match(json.certificates[0]!.chain, { complete: true, rootIssuer: 'Contoso Root CA', path: [{ from: 'file' }, { from: 'file' }, { from: 'tls.trust' }] });
});

t.test('signed by the RSA root itself: its signature algorithm, a chain of two', async (t) => {
  const { json } = await info(configServing(t.testdir(), rootSigned.cert, rootSigned.key));
  const [report] = json.certificates;
  t.equal(report!.certificate.signatureAlgorithm, 'RSASSA-PKCS1-v1_5 with SHA-256');
  t.match(report!.chain, { complete: true, rootIssuer: 'Contoso Root CA', path: [{ subject: 'CN=mx.contoso.test', from: 'file' }, { from: 'tls.trust' }] });
  t.equal(report!.chain.path.length, 2);
});

t.test('a self-signed certificate (the development pair): EC P-256, its own root, not trusted here', async (t) => {
  const dir = t.testdir();
  const selfSigned: KeyPair = await makeCert({ names: ['relay.contoso.test'] });
  const { json, text } = await info(configServing(dir, selfSigned.cert, selfSigned.key));
  const [report] = json.certificates;
  t.strictSame(report!.certificate.key, { type: 'EC', bits: 256, curve: 'P-256' });
  t.equal(report!.certificate.signatureAlgorithm, 'ECDSA with SHA-256');
  t.strictSame([report!.certificate.organization, report!.certificate.ocspResponders, report!.certificate.crlDistributionPoints], [[], [], []]);
  t.match(report!.chain, { complete: false, rootIssuer: 'relay.contoso.test', path: [{ subject: 'CN=relay.contoso.test', from: 'file' }] });
  t.match(report!.chain.problem, /^"CN=relay\.contoso\.test" signed itself and is no trust anchor here/);
  t.match(text, /\n {4}root issuer +relay\.contoso\.test \(in the file, not trusted here\)\n/);
  t.match(text, /\n {4}key strength +EC P-256 \(256 bits\)\n/);
  t.match(text, /\n {4}organization +none\n/);
  t.match(text, /\n {4}OCSP responder +none\n/);
});

t.test('a root of the system store is found there', async (t) => {
  const dir = t.testdir();
  const systemRoot = rootCertificates[0]!;
  // cert info reads the certificate alone; the key file only has to be there
  const { json, text } = await info(configServing(dir, systemRoot, leaf.key));
  const subject = new X509Certificate(systemRoot).subject.replace(/\n/g, ', ');
  t.match(json.certificates[0]!.chain, { complete: true, problem: null, path: [{ subject, from: 'system' }] });
  t.match(text, /\n {4}root issuer +.+ \(system root store\)\n/);
});

t.test('tls.certificates: every pair, with its name, and the connectors that present each by clientCertificate', async (t) => {
  const dir = t.testdir();
  const ecdsa = await opensslCertificate({ subject: '/CN=gw.contoso.test', issuer: root });
  writeFileSync(join(dir, 'rsa.crt'), leaf.cert + intermediate.cert);
  writeFileSync(join(dir, 'rsa.key'), leaf.key);
  writeFileSync(join(dir, 'ecdsa.crt'), ecdsa.cert);
  writeFileSync(join(dir, 'ecdsa.key'), ecdsa.key);
  writeFileSync(join(dir, 'root.crt'), root.cert);
  const file = writeConfig(
    dir,
    `server: { hostname: relay.contoso.test }
listeners: [{ name: mx, port: 0 }, { name: lan, port: 0, tls: none }]
tls:
  certificates:
    - { name: rsa, cert: rsa.crt, key: rsa.key }
    - { name: ecdsa, cert: ecdsa.crt, key: ecdsa.key }
  trust: [root.crt]
queue: { dir: spool }
outbound:
  - { name: partner, domains: [fabrikam.test], tls: verify, clientCertificate: true }
  - { name: gateway, domains: [woodgrove.test], tls: verify, clientCertificate: ecdsa }
  - { name: bank, domains: [bank.test], tls: verify, clientCertificate: rsa }
  - { name: internet, domains: ["*"] }
`,
  );
  const { json, text } = await info(file);
  const pin = async (pem: string): Promise<string> => `sha256:${(await openssl(pem, '-fingerprint', '-sha256')).replace(/^.*=/, '').replace(/:/g, '').toLowerCase()}`;
  t.match(json.certificates, [
    { setting: 'tls.certificates[0].cert', name: 'rsa', file: join(dir, 'rsa.crt'), where: `${file}:5:26`, keyFile: join(dir, 'rsa.key'), servedBy: ['mx'], presentedBy: ['partner', 'bank'] },
    { setting: 'tls.certificates[1].cert', name: 'ecdsa', file: join(dir, 'ecdsa.crt'), where: `${file}:6:28`, keyFile: join(dir, 'ecdsa.key'), servedBy: ['mx'], presentedBy: ['gateway'] },
  ]);
  t.equal(json.certificates.length, 2, 'one report per pair');
  const [rsa, ec] = json.certificates;
  t.strictSame(rsa!.certificate.key, { type: 'RSA', bits: 2048, curve: null });
  t.strictSame(ec!.certificate.key, { type: 'EC', bits: 256, curve: 'P-256' });
  t.equal(rsa!.certificate.fingerprints.certificate, await pin(leaf.cert), "the first pair's pin, as openssl computes it");
  t.equal(ec!.certificate.fingerprints.certificate, await pin(ecdsa.cert), "the second pair's pin, as openssl computes it");
  t.match(rsa!.chain, { complete: true, rootIssuer: 'Contoso Root CA' });
  t.match(ec!.chain, { complete: true, rootIssuer: 'Contoso Root CA', path: [{ subject: 'CN=gw.contoso.test', from: 'file' }, { from: 'tls.trust' }] });

  const blocks = text.split('\n\n');
  t.equal(blocks.length, 2, 'two blocks of text');
  t.match(blocks[0], new RegExp(`^tls\\.certificates\\[0\\]\\.cert ${join(dir, 'rsa.crt')} \\(name: rsa\\)\n`));
  t.match(blocks[0], /\n {2}presented by +outbound connectors partner, bank \(clientCertificate: true or rsa\)\n/);
  t.match(blocks[0], /\n {4}certificate name +relay\.contoso\.test\n/);
  t.match(blocks[1], new RegExp(`^tls\\.certificates\\[1\\]\\.cert ${join(dir, 'ecdsa.crt')} \\(name: ecdsa\\)\n`));
  t.match(blocks[1], /\n {2}presented by +outbound connectors gateway \(clientCertificate: ecdsa\)\n/);
  t.match(blocks[1], /\n {4}certificate name +gw\.contoso\.test\n/);
  t.match(blocks[1], /\n {4}key strength +EC P-256 \(256 bits\)\n/);
});

t.test('no certificate configured, or one the first start makes: said, exit 0', async (t) => {
  const dir = t.testdir();
  const none = writeConfig(dir, 'listeners: [{ name: lan, port: 0, tls: none }]\nqueue: { dir: spool }\nserver: { hostname: relay.test }\n');
  t.strictSame(await runCli(['cert', 'info', '-c', none]), { code: 0, stdout: 'no certificate: neither tls.cert nor tls.certificates is set, so no listener serves one and no connector presents one\n', stderr: '' });
  t.strictSame(await runCli(['cert', 'info', '--json', '-c', none]), { code: 0, stdout: '{\n  "certificates": []\n}\n', stderr: '' });

  const generated = writeConfig(t.testdir(), 'listeners: [{ name: smtp, port: 0 }]\ntls: { cert: new.crt, key: new.key, generateIfMissing: true }\nqueue: { dir: spool }\nserver: { hostname: relay.test }\n');
  const pending = await runCli(['cert', 'info', '--json', '-c', generated]);
  t.equal(pending.code, 0);
  t.equal(pending.stdout, '{\n  "certificates": []\n}\n', 'one JSON document on stdout');
  t.match(pending.stderr, /^tls\.cert .*new\.crt does not exist yet: tls\.generateIfMissing makes a self-signed pair there at the first start\n$/);
});

t.test('a file that is no certificate, or a config error: FILE:LINE:COL and exit 2', async (t) => {
  const dir = t.testdir();
  const file = configServing(dir, 'not a certificate\n', leaf.key);
  t.strictSame(await runCli(['cert', 'info', '-c', file]), { code: 2, stdout: '', stderr: `${file}:3:14: ${join(dir, 'relay.crt')}: no PEM certificate found\n` });
  const badTrust = configServing(t.testdir(), leaf.cert, leaf.key);
  writeFileSync(join(badTrust, '..', 'root.crt'), 'garbage\n');
  t.match(await runCli(['cert', 'info', '--json', '-c', badTrust]), { code: 2, stdout: '', stderr: new RegExp(`^${badTrust.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:49: .*root\\.crt: no PEM certificate found\n$`) });
  const unknownKey = configServing(t.testdir(), leaf.cert, leaf.key, 'frobnicate: 1\n');
  t.match(await runCli(['cert', 'info', '-c', unknownKey]), { code: 2, stdout: '', stderr: /:8:1: frobnicate: unknown key/ });
});

t.test('usage errors exit 64', async (t) => {
  t.match(await runCli(['cert']), { code: 64, stderr: /^tlsrelay cert: missing subcommand: info or check\n/ });
  t.match(await runCli(['cert', 'verify']), { code: 64, stderr: /^tlsrelay cert: unknown subcommand "verify"\n/ });
  t.match(await runCli(['cert', 'info', 'extra']), { code: 64, stderr: /^tlsrelay cert: unexpected argument "extra"\n/ });
});

t.test("README's example is what the command prints for such a certificate (dates, pins and days left aside)", async (t) => {
  const [example] = fencedBlocks(readmeSection('### Publishing yours to partners'), 'console');
  const [command, ...documented] = example!.split('\n');
  t.equal(command, '$ tlsrelay cert info -c /etc/tlsrelay/tlsrelay.yaml');
  const contosoRoot = await opensslCertificate({ subject: '/CN=Contoso Root CA/O=Contoso Ltd', ca: true, newKey: 'rsa:2048' });
  const issuing = await opensslCertificate({ subject: '/CN=Contoso Issuing CA 1/O=Contoso Ltd', ca: true, issuer: contosoRoot, newKey: 'rsa:2048' });
  const relayCert = await opensslCertificate({
    subject: '/CN=relay.contoso.test/O=Contoso Ltd/OU=Messaging',
    issuer: issuing,
    newKey: 'rsa:2048',
    serial: '4A3F09C2D1',
    extensions: [
      'subjectAltName = DNS:relay.contoso.test, DNS:mail.contoso.test',
      'authorityInfoAccess = OCSP;URI:http://ocsp.contoso.test/, caIssuers;URI:http://pki.contoso.test/issuing-ca-1.crt',
      'crlDistributionPoints = URI:http://pki.contoso.test/issuing-ca-1.crl',
    ],
  });
  const dir = t.testdir();
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'certs', 'relay.crt'), relayCert.cert + issuing.cert);
  writeFileSync(join(dir, 'certs', 'relay.key'), relayCert.key);
  writeFileSync(join(dir, 'certs', 'contoso-root.crt'), contosoRoot.cert);
  const file = writeConfig(
    dir,
    `server: { hostname: relay.contoso.test }
listeners:
  - { name: mx, port: 0 }
  - { name: submission, port: 0, auth: required }
tls: { cert: certs/relay.crt, key: certs/relay.key, trust: [certs/contoso-root.crt] }
queue: { dir: spool }
outbound:
  - { name: partner-fabrikam, domains: [fabrikam.test], tls: verify, clientCertificate: true }
`,
  );
  const printed = await runCli(['cert', 'info', '-c', file]);
  t.equal(printed.code, 0, printed.stderr);
  const aside = (text: string): string =>
    text
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<date>')
      .replace(/sha256:[0-9a-f]{64}/g, '<pin>')
      .replace(/\(\d+ days left\)/g, '(<n> days left)');
  t.equal(aside(printed.stdout.replaceAll(dir, '/etc/tlsrelay')), aside(documented.join('\n')));
});
