// Expiry warnings from a real relay and from check-config: a served certificate, a
// tls.trust anchor, a tls.crl and an outbound connector's CRL near or past their end,
// each said at the FILE:LINE:COL that names its file; a reload repeats none of them, a
// renewed certificate that still ends soon is said at once. (When later warnings come —
// 14, 7 days, then daily — is expirySchedule's, tested with fixed dates.)
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, makeCert, makeCrl, type KeyPair } from '../helpers/pki.js';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** An hour over whole days, so that "in N days" does not depend on how long the test takes. */
const inDays = (days: number): Date => new Date(Date.now() + days * DAY + HOUR);

const partnerCa = await makeCa('Partner CA', { notAfter: inDays(5) });
const otherCa = await makeCa('Other Partner CA');
const files = {
  'partner-ca.crt': partnerCa.cert,
  'partner.crl': await makeCrl(partnerCa, { nextUpdate: inDays(3) }),
  'other.crl': await makeCrl(otherCa, { nextUpdate: new Date(Date.now() - 2 * HOUR) }),
};

const CONFIG = `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls:
  cert: relay.crt
  key: relay.key
  trust: [partner-ca.crt]
  crl: [partner.crl]
queue: { dir: spool }
outbound:
  - name: other
    domains: [other.test]
    tls: verify
    crl: [other.crl]
`;

/** The config and its files, serving `pair`. */
function setUp(dir: string, pair: KeyPair): string {
  for (const [name, contents] of Object.entries({ ...files, 'relay.crt': pair.cert, 'relay.key': pair.key })) writeFileSync(join(dir, name), contents);
  return writeConfig(dir, CONFIG);
}

t.test('check-config warns about each, at its place, and passes', async (t) => {
  const dir = t.testdir();
  const file = setUp(dir, await makeCert({ names: ['relay.test'], notAfter: inDays(10) }));
  const checked = await runCli(['check-config', '-c', file]);
  t.equal(checked.code, 0);
  t.equal(checked.stdout, `${file}: configuration is valid\n`);
  const iso = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';
  const lines = checked.stderr.split('\n').slice(0, -1);
  t.match(lines, [
    new RegExp(`^${escape(file)}:4:9: warning: tls\\.cert: the certificate ${escape(join(dir, 'relay.crt'))} expires on ${iso} \\(in 10 days\\); renew it before then$`),
    new RegExp(`^${escape(file)}:6:11: warning: tls\\.trust: the trust anchor "CN=Partner CA" in ${escape(join(dir, 'partner-ca.crt'))} expires on ${iso} \\(in 5 days\\); certificates that chain only to it stop verifying then: replace it before then$`),
    new RegExp(`^${escape(file)}:7:9: warning: tls\\.crl: the CRL of "CN=Partner CA" in ${escape(join(dir, 'partner.crl'))} reaches its nextUpdate on ${iso} \\(in 3 days\\); then the certificates that CA issued fail verification \\(CRL_HAS_EXPIRED\\): install a newer CRL before then$`),
    new RegExp(`^${escape(file)}:13:11: warning: outbound\\[0\\]\\.crl: the CRL of "CN=Other Partner CA" in ${escape(join(dir, 'other.crl'))} is past its nextUpdate ${iso}: the certificates that CA issued fail verification \\(CRL_HAS_EXPIRED\\) until a newer CRL is installed$`),
  ]);
  t.equal(lines.length, 4, 'nothing else');
});

t.test("the relay's log: each at start, none again at a reload, a renewed certificate at once", async (t) => {
  const dir = t.testdir();
  const pair = await makeCert({ names: ['relay.test'], notAfter: inDays(10) });
  const file = setUp(dir, pair);
  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  await relay.port();
  const started = await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start');
  const warnings = relay.logs.slice(0, relay.logs.indexOf(started)).filter((line) => line.level === 40);
  t.match(warnings, [
    { msg: 'our certificate expires soon; renew it before then', setting: 'tls.cert', file: join(dir, 'relay.crt'), where: `${file}:4:9`, subject: 'CN=relay.test', daysLeft: 10 },
    { msg: 'a trust anchor (tls.trust) expires soon; replace it before then', setting: 'tls.trust', file: join(dir, 'partner-ca.crt'), where: `${file}:6:11`, subject: 'CN=Partner CA', daysLeft: 5 },
    { msg: 'a CRL reaches its nextUpdate soon; install a newer one before then', setting: 'tls.crl', file: join(dir, 'partner.crl'), where: `${file}:7:9`, subject: 'CN=Partner CA', daysLeft: 3 },
    {
      msg: 'a CRL is past its nextUpdate: the certificates its issuer signed fail verification (CRL_HAS_EXPIRED) until a newer one is installed',
      setting: 'outbound[0].crl',
      connector: 'other',
      file: join(dir, 'other.crl'),
      where: `${file}:13:11`,
      subject: 'CN=Other Partner CA',
      daysLeft: -1,
    },
  ]);
  t.equal(warnings.length, 4, 'one line each');
  t.equal(warnings[0]!.expires, new Date(new X509Certificate(pair.cert).validTo).toISOString(), "expires: the certificate's notAfter");

  const reloaded = (): Promise<unknown> => relay.waitForNextLog((line) => line.msg === 'configuration reloaded', 'the reload');
  const beforeReload = relay.logs.length;
  let done = reloaded();
  relay.child.kill('SIGHUP');
  await done;
  t.strictSame(relay.logs.slice(beforeReload).filter((line) => line.level === 40), [], 'the same files reloaded: no warning repeated');

  const renewed = await makeCert({ names: ['relay.test'], notAfter: inDays(20) });
  writeFileSync(join(dir, 'relay.crt'), renewed.cert);
  writeFileSync(join(dir, 'relay.key'), renewed.key);
  const beforeRenewal = relay.logs.length;
  done = reloaded();
  relay.child.kill('SIGHUP');
  await done;
  t.match(
    relay.logs.slice(beforeRenewal).filter((line) => line.level === 40),
    [{ msg: 'our certificate expires soon; renew it before then', setting: 'tls.cert', daysLeft: 20 }],
    'a renewed certificate that still ends within 30 days: said once, before the reload is reported',
  );
});

t.test('tls.certificates: each pair at its own key, and a pair swapped in by the watch judged at once', async (t) => {
  const dir = t.testdir();
  const first = await makeCert({ names: ['relay.test'], notAfter: inDays(60) });
  const second = await makeCert({ names: ['gw.relay.test'], notAfter: inDays(10) });
  for (const [name, contents] of Object.entries({ 'a.crt': first.cert, 'a.key': first.key, 'b.crt': second.cert, 'b.key': second.key })) writeFileSync(join(dir, name), contents);
  const file = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls:
  certificates:
    - { name: main, cert: a.crt, key: a.key }
    - { name: gateway, cert: b.crt, key: b.key }
queue: { dir: spool }
`,
  );
  const checked = await runCli(['check-config', '-c', file]);
  t.equal(checked.code, 0);
  t.match(checked.stderr, new RegExp(`^${escape(file)}:6:30: warning: tls\\.certificates\\[1\\]\\.cert: the certificate ${escape(join(dir, 'b.crt'))} expires on \\S+ \\(in 10 days\\); renew it before then\\n$`), 'the second pair alone, at its cert key');

  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  await relay.port();
  const started = await relay.waitForLog((line) => line.msg === 'tlsrelay started', 'the start');
  t.match(
    relay.logs.slice(0, relay.logs.indexOf(started)).filter((line) => line.level === 40),
    [{ msg: 'our certificate expires soon; renew it before then', setting: 'tls.certificates[1].cert', file: join(dir, 'b.crt'), where: `${file}:6:30`, subject: 'CN=gw.relay.test', daysLeft: 10 }],
    'the pair near its end, named by its key',
  );
  t.equal(relay.logs.slice(0, relay.logs.indexOf(started)).filter((line) => line.level === 40).length, 1, 'and not the other');

  // the first pair renewed in place, by a certificate that still ends within 30 days
  const renewed = await makeCert({ names: ['relay.test'], notAfter: inDays(20) });
  const swapped = relay.waitForNextLog((line) => line.msg === 'certificate loaded: new sessions get it' && line.cert === join(dir, 'a.crt'), 'the swap');
  const warned = relay.waitForNextLog((line) => line.level === 40 && line.setting === 'tls.certificates[0].cert', 'the warning about the swapped-in certificate');
  writeFileSync(join(dir, 'a.key'), renewed.key);
  writeFileSync(join(dir, 'a.crt'), renewed.cert);
  const [swap, warning] = await Promise.all([swapped, warned]);
  t.match(warning, { msg: 'our certificate expires soon; renew it before then', file: join(dir, 'a.crt'), where: `${file}:5:27`, daysLeft: 20, expires: new Date(new X509Certificate(renewed.cert).validTo).toISOString() });
  t.ok(relay.logs.indexOf(warning) > relay.logs.indexOf(swap), 'said once the swap is logged, without a reload');
  t.notOk(
    relay.logs.slice(relay.logs.indexOf(swap)).some((line) => line.level === 40 && line.setting === 'tls.certificates[1].cert'),
    'the pair already warned about is not warned about again',
  );
});
