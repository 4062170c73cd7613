// The STARTTLS listener as an outside scanner sees it: testssl (Debian package
// testssl.sh) probes protocols, every cipher it knows (--fast: with openssl's list,
// about a minute instead of three), forward secrecy and renegotiation. Fails on any
// protocol below TLS 1.2, any cipher without forward secrecy (or anonymous, export,
// NULL, RC4, DES, MD5), or a renegotiation finding that is not OK.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startRelay, writeConfig } from '../helpers/relayProcess.js';
import { needsTool, runTool } from '../helpers/tools.js';

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

const WEAK = /^(ADH|AECDH)-|NULL|EXP|RC4|DES|MD5/;

/** testssl's cipher line: "xc02f  ECDHE-RSA-AES128-GCM-SHA256  ECDH 253  AESGCM  128  TLS_ECDHE_…" (TLS 1.3 suites show ECDH too). */
function acceptableCipher(finding: string): boolean {
  const [, name = '', kx] = finding.trim().split(/\s+/);
  return (kx === 'ECDH' || kx === 'DH') && !WEAK.test(name);
}

t.test('testssl finds no old protocol, no cipher without forward secrecy, no renegotiation', needsTool('testssl', 'apt-get install testssl.sh'), async (t) => {
  const dir = t.testdir();
  const relay = startRelay(
    writeConfig(
      dir,
      `listeners: [{ name: smtp, port: 0, tls: starttls }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
`,
    ),
  );
  t.teardown(() => relay.stop());
  const port = await relay.port();
  const report = join(dir, 'testssl.json');
  const run = await runTool('testssl', [
    '--quiet', '--color', '0', '--warnings', 'off', '--jsonfile-pretty', report,
    '--starttls', 'smtp', '-p', '-e', '-f', '-R', '--fast', '--ip', 'one', `127.0.0.1:${port}`,
  ]);
  t.equal(run.code, 0, 'testssl ran to the end');
  const scan = (JSON.parse(readFileSync(report, 'utf8')) as { scanResult: Array<Record<string, Finding[] | unknown>> }).scanResult[0]!;
  const section = (name: string): Finding[] => (Array.isArray(scan[name]) ? (scan[name] as Finding[]) : []);

  const protocols = section('protocols');
  for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) {
    t.match(protocols.find((f) => f.id === old), { finding: /^not offered/ }, `${old} not offered`);
  }
  t.match(protocols.find((f) => f.id === 'TLS1_2'), { finding: /^offered/ }, 'TLS 1.2 offered');
  t.match(protocols.find((f) => f.id === 'TLS1_3'), { finding: /^offered/ }, 'TLS 1.3 offered');

  const offered = section('cipherTests');
  t.ok(offered.length > 0, 'testssl listed the offered ciphers');
  t.same(offered.filter((f) => !acceptableCipher(f.finding)).map((f) => f.finding), [], 'every offered cipher is forward secret and strong');
  t.match(section('pfs').find((f) => f.id === 'PFS'), { severity: 'OK', finding: /^offered/ });

  const renegotiation = section('vulnerabilities').filter((f) => /renego/i.test(f.id));
  t.ok(renegotiation.length > 0, 'testssl reported on renegotiation');
  t.same(renegotiation.filter((f) => f.severity !== 'OK'), [], 'no renegotiation finding is worse than OK');
});
