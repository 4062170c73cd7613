// Our own certificate files as check-config and start judge them: dates (an expired or
// not-yet-valid tls.cert is an error, one that ends within 30 days a warning) and half a
// pair (a key without its certificate, or the other way round), each with the
// FILE:LINE:COL of the key that names the file, and the same words from both commands.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCert, type KeyPair } from '../helpers/pki.js';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';

const DAY = 86_400_000;
const CONFIG = `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key }
queue: { dir: spool }
server: { hostname: relay.test }
`;
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function configWith(dir: string, pair: KeyPair, yaml = CONFIG): string {
  writeFileSync(join(dir, 'relay.crt'), pair.cert);
  writeFileSync(join(dir, 'relay.key'), pair.key);
  return writeConfig(dir, yaml);
}

/** check-config and start on one file: both refuse it with one and the same line. */
async function bothRefuse(t: Test, file: string, line: RegExp): Promise<void> {
  const said: string[] = [];
  for (const command of ['check-config', 'start']) {
    const result = await runCli([command, '-c', file]);
    t.equal(result.code, 2, `${command} exits 2`);
    t.match(result.stderr, line, `${command} says why, at the key's FILE:LINE:COL`);
    t.equal(result.stderr.trim().split('\n').length, 1, `${command} says it once`);
    t.notMatch(result.stdout, /"msg":"listening"/, `${command} listened nowhere`);
    said.push(result.stderr);
  }
  t.equal(said[0], said[1], 'check-config and start say the same');
}

t.test('an expired tls.cert is an error for check-config and start', async (t) => {
  const dir = t.testdir();
  const expired = await makeCert({ names: ['relay.test'], notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
  const file = configWith(dir, expired);
  await bothRefuse(t, file, new RegExp(`^${escape(file)}:2:14: tls\\.cert: the certificate ${escape(join(dir, 'relay.crt'))} expired on \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: clients refuse it; install a renewed one\\n$`));
});

t.test('a tls.cert not valid yet is an error for check-config and start', async (t) => {
  const dir = t.testdir();
  const future = await makeCert({ names: ['relay.test'], notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 90 * DAY) });
  const file = configWith(dir, future);
  await bothRefuse(t, file, new RegExp(`^${escape(file)}:2:14: tls\\.cert: the certificate .* is not valid before .*: clients refuse it until then`));
});

t.test('a tls.cert that ends within 30 days: check-config warns and passes, start logs it and serves', async (t) => {
  const dir = t.testdir();
  const ending = await makeCert({ names: ['relay.test'], notAfter: new Date(Date.now() + 10 * DAY + 3_600_000) });
  const file = configWith(dir, ending);
  const checked = await runCli(['check-config', '-c', file]);
  t.equal(checked.code, 0, 'still valid');
  t.match(checked.stdout, /configuration is valid/);
  t.match(checked.stderr, new RegExp(`^${escape(file)}:2:14: warning: tls\\.cert: the certificate ${escape(join(dir, 'relay.crt'))} expires on \\S+ \\(in 10 days\\); renew it before then\\n$`));

  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  const warned = await relay.waitForLog((line) => line.msg === 'our certificate expires soon; renew it before then', 'the expiry warning');
  t.match(warned, { level: 40, setting: 'tls.cert', file: join(dir, 'relay.crt'), where: `${file}:2:14`, subject: 'CN=relay.test', daysLeft: 10 });
  await relay.port();
});

t.test('a certificate that is fine says nothing', async (t) => {
  const dir = t.testdir();
  const file = configWith(dir, await makeCert({ names: ['relay.test'] }));
  const checked = await runCli(['check-config', '-c', file]);
  t.equal(checked.code, 0);
  t.equal(checked.stderr, '');
});

t.test('SIGHUP with an expired certificate in place: the reload is refused, naming it', async (t) => {
  const dir = t.testdir();
  const file = configWith(dir, await makeCert({ names: ['relay.test'] }));
  const relay = startRelay(file);
  t.teardown(() => relay.stop());
  await relay.port();
  configWith(dir, await makeCert({ names: ['relay.test'], notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) }));
  relay.child.kill('SIGHUP');
  const refused = await relay.waitForLog((line) => line.msg === 'configuration reload refused; the running configuration stays', 'the refused reload');
  t.match(refused.errors, [new RegExp(`^${escape(file)}:2:14: tls\\.cert: the certificate .* expired on `)]);
});

t.test('half a pair: one message, at the missing file, from check-config and start, with generateIfMissing or without', async (t) => {
  const pair = await makeCert({ names: ['relay.test'] });
  for (const generateIfMissing of [false, true]) {
    for (const [present, missing] of [['key', 'cert'], ['cert', 'key']] as const) {
      t.test(`tls.${present} there, tls.${missing} not${generateIfMissing ? ', generateIfMissing' : ''}`, async (t) => {
        const dir = t.testdir();
        writeFileSync(join(dir, `relay.${present === 'cert' ? 'crt' : 'key'}`), pair[present]);
        const file = writeConfig(dir, CONFIG.replace('key: relay.key }', `key: relay.key${generateIfMissing ? ', generateIfMissing: true' : ''} }`));
        const missingFile = join(dir, missing === 'cert' ? 'relay.crt' : 'relay.key');
        const presentFile = join(dir, present === 'cert' ? 'relay.crt' : 'relay.key');
        const col = missing === 'cert' ? 14 : 30;
        const belongs = missing === 'cert' ? 'certificate' : 'key';
        await bothRefuse(
          t,
          file,
          new RegExp(`^${escape(file)}:2:${col}: tls\\.${missing}: file not found: ${escape(missingFile)}, but tls\\.${present} ${escape(presentFile)} exists: it needs the ${belongs} it belongs with \\(tls\\.generateIfMissing makes a pair only when both files are missing\\)\\n$`),
        );
      });
    }
  }
});
