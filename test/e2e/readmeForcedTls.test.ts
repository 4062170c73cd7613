// README's "Forced TLS with a partner" config must work as written: copied next to the
// files it names, `tlsrelay check-config` accepts it and it says what the text says.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { makeCa, makeCert, makeCrl } from '../helpers/pki.js';
import { PROJECT_ROOT, runCli, writeConfig } from '../helpers/relayProcess.js';

/** The first yaml block after the heading. */
function yamlAfter(heading: string): string {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  const block = start < 0 ? null : /```yaml\n([\s\S]*?)```/.exec(readme.slice(start));
  if (!block?.[1]) throw new Error(`README has no yaml block after "${heading}"`);
  return block[1];
}

t.test('README: Forced TLS with a partner', async (t) => {
  const yaml = yamlAfter('### Forced TLS with a partner');
  const dir = t.testdir();
  const fabrikamCa = await makeCa('Fabrikam CA');
  const relayCert = await makeCert({ names: ['relay.contoso.test'] });
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'certs', 'relay.crt'), relayCert.cert);
  writeFileSync(join(dir, 'certs', 'relay.key'), relayCert.key);
  writeFileSync(join(dir, 'certs', 'fabrikam-ca.crt'), fabrikamCa.cert);
  writeFileSync(join(dir, 'certs', 'fabrikam-ca.crl'), await makeCrl(fabrikamCa));
  const file = writeConfig(dir, yaml);

  const checked = await runCli(['check-config', '-c', file]);
  t.equal(checked.code, 0, `check-config accepts it: ${checked.stderr}`);

  const config = loadConfig(file);
  t.match(config.inbound, [{ name: 'partner-fabrikam', match: { senderDomains: ['fabrikam.test'] }, require: { tls: true, certificateNames: ['mail.fabrikam.test'] } }]);
  t.match(config.outbound.find((connector) => connector.name === 'partner-fabrikam'), {
    domains: ['fabrikam.test'],
    tls: 'verify',
    tlsNames: ['mail.fabrikam.test'],
    clientCertificate: true,
    maxAge: 86_400_000,
  });
  t.same(config.tls.crl, [join(dir, 'certs', 'fabrikam-ca.crl')]);
});
