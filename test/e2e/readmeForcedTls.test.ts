// README's "Forced TLS with a partner" must work as written. Its config is copied next to
// the files it names (certificates made here) and changed only where a test must: the
// listener on a loopback port, the server network as this machine, the smart host's
// port, and DNS plus the MX port pointing at loopback peers. Then the relay runs on it:
// Fabrikam's servers deliver to contoso.test only with their certificate; Exchange,
// by its certificate, relays to fabrikam.test, which gets the mail only over TLS verified
// for mail.fabrikam.test with the relay's own certificate presented.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { SYSTEM_HOSTNAME } from '../helpers/config.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { readmeBlock, substitute } from '../helpers/docText.js';
import { oneMessage, refusedUntilVerified } from '../helpers/nextHopSwap.js';
import { startSink } from '../helpers/peers.js';
import { makeCa, makeCert, makeCrl, type KeyPair } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { needsSwaks, runTool } from '../helpers/tools.js';

const SECTION = '### Forced TLS with a partner';
const fabrikamCa = await makeCa('Fabrikam CA');
const contosoCa = await makeCa('Contoso internal CA');
const pairs = {
  relay: await makeCert({ names: ['relay.contoso.test'], ca: contosoCa }),
  exchange: await makeCert({ names: ['exchange.contoso.test'], ca: contosoCa }),
  fabrikam: await makeCert({ names: ['mail.fabrikam.test'], ca: fabrikamCa }),
  /** Trusted, but names the MX host dialled rather than the agreed mail.fabrikam.test. */
  mxName: await makeCert({ names: ['mx1.fabrikam.test'], ca: fabrikamCa }),
  revoked: await makeCert({ names: ['mail.fabrikam.test'], ca: fabrikamCa }),
};

t.test('README: Forced TLS with a partner, run as written', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'certs'));
  const files: Record<string, string> = {
    'certs/relay.crt': pairs.relay.cert,
    'certs/relay.key': pairs.relay.key,
    'certs/fabrikam-ca.crt': fabrikamCa.cert,
    'certs/contoso-ca.crt': contosoCa.cert,
    'certs/fabrikam-ca.crl': await makeCrl(fabrikamCa, { revoked: [pairs.revoked.cert] }),
    // for README's swaks command, run where Fabrikam keeps its files
    'mail.fabrikam.test.crt': pairs.fabrikam.cert,
    'mail.fabrikam.test.key': pairs.fabrikam.key,
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);

  const exchange = await startSink({ tls: 'starttls', cert: pairs.exchange });
  const fabrikamPort = await freePort();
  const dns = await startDnsServer({
    'exchange.contoso.test': { A: ['127.0.0.1'] },
    'fabrikam.test': { MX: [{ preference: 10, exchange: 'mx1.fabrikam.test' }] },
    'mx1.fabrikam.test': { A: ['127.0.0.1'] },
  });
  const yaml = substitute(readmeBlock(SECTION, 'yaml'), [
    ['{ name: mx, address: 0.0.0.0, port: 25, tls: starttls }', '{ name: mx, address: 127.0.0.1, port: 0, tls: starttls }'],
    ['ips: [10.0.0.0/8]', 'ips: [127.0.0.1/32]'],
    ['smartHosts: [exchange.contoso.test]', `smartHosts: ["exchange.contoso.test:${exchange.port}"]`],
  ]);
  // keys README leaves to their defaults (a duplicate would fail the load)
  const file = writeConfig(dir, `${yaml}dns: { servers: ["127.0.0.1:${dns.port}"] }\ndelivery: { port: ${fabrikamPort} }\n`);

  const checked = await runCli(['check-config', '-c', file]);
  t.equal(checked.code, 0, `check-config accepts it: ${checked.stderr}`);
  const config = loadConfig(file, SYSTEM_HOSTNAME);
  t.match(config.inbound, [
    { name: 'onprem-exchange', match: { certificateNames: ['exchange.contoso.test'] }, relay: true },
    { name: 'partner-fabrikam', match: { senderDomains: ['fabrikam.test'] }, require: { tls: true, certificateNames: ['mail.fabrikam.test'] } },
  ]);
  t.match(config.outbound.find((connector) => connector.name === 'partner-fabrikam'), {
    domains: ['fabrikam.test'],
    tls: 'verify',
    tlsNames: ['mail.fabrikam.test'],
    clientCertificate: true,
    maxAge: 86_400_000,
  });
  t.same(config.tls.crl, [join(dir, 'certs', 'fabrikam-ca.crl')]);

  const relay = startRelay(file);
  t.teardown(async () => {
    await relay.stop();
    await exchange.close();
    await dns.close();
  });
  const port = await relay.port('mx');
  const send = (from: string, to: string, pair?: KeyPair, tls: 'starttls' | 'none' = 'starttls') =>
    submit({ port, tls, from, to: [to], data: sampleMessage(`${from} to ${to}`), ...(pair ? { key: pair.key, cert: pair.cert } : {}) });

  t.test('Fabrikam sends to contoso.test only over TLS with its certificate; it goes on to a verified Exchange', async (t) => {
    t.match(await send('billing@fabrikam.test', 'ap@contoso.test', undefined, 'none'), { ok: false, code: 530, response: /^530 5\.7\.0 Must issue a STARTTLS command first/ });
    t.match(await send('billing@fabrikam.test', 'ap@contoso.test'), {
      ok: false,
      code: 530,
      response: /^530 5\.7\.1 Connector "partner-fabrikam" requires a trusted client certificate: no client certificate was presented/,
    });
    t.match(await send('billing@fabrikam.test', 'someone@elsewhere.test', pairs.fabrikam), { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'the partner does not relay');

    const accepted = await send('billing@fabrikam.test', 'ap@contoso.test', pairs.fabrikam);
    t.match(accepted, { ok: true, response: /^250 2\.0\.0 Ok: queued as / });
    const id = accepted.ok ? /queued as (\S+)/.exec(accepted.response)?.[1] : undefined;
    const attempt = await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, 'the delivery to Exchange');
    t.match(attempt, { outcome: 'delivered', connector: 'onprem-exchange', tlsLevel: 'verify', verdict: 'verified', host: 'exchange.contoso.test' });
    t.match(exchange.received, [{ from: 'billing@fabrikam.test', to: ['ap@contoso.test'], secure: true }]);
  });

  t.test("README's swaks command, as Fabrikam would run it", needsSwaks(), async (t) => {
    const command = substitute(readmeBlock(SECTION, 'sh'), [['relay.contoso.test:25', `127.0.0.1:${port}`]]);
    t.match(command, /^swaks /, 'the block is the swaks command');
    const run = await runTool('sh', ['-c', command], { cwd: dir });
    t.equal(run.code, 0, 'swaks exits 0');
    t.match(run.output, /<~\s+250 2\.0\.0 Ok: queued as /);
  });

  t.test('Exchange relays to fabrikam.test by its certificate; delivered only to a verified mail.fabrikam.test that gets ours', async (t) => {
    t.match(await send('clerk@contoso.test', 'ap@fabrikam.test'), { ok: false, code: 550, response: /^550 5\.7\.1 Relaying denied/ }, 'the same address without the certificate');
    t.match(await send('clerk@contoso.test', 'ap@fabrikam.test', pairs.fabrikam), { ok: false, code: 550 }, "a trusted certificate, but not Exchange's");

    // Exchange with its certificate may relay. Fabrikam's MX first answers with
    // certificates the connector must refuse; it always demands ours.
    const message = oneMessage(file, () => send('clerk@contoso.test', 'ap@fabrikam.test', pairs.exchange));
    const sink = await refusedUntilVerified(t, relay, {
      domain: 'fabrikam.test',
      connector: 'partner-fabrikam',
      host: 'mx1.fabrikam.test',
      peer: (cert) => ({ tls: 'starttls', cert, port: fabrikamPort, requireCertFrom: contosoCa.cert }),
      message,
      refusals: [
        { cert: pairs.mxName, reason: 'the certificate names none of mail.fabrikam.test (it has DNS:mx1.fabrikam.test)', verdict: 'trusted' },
        { cert: pairs.revoked, reason: 'certificate has been revoked (CERT_REVOKED)', verdict: 'untrusted' },
      ],
      right: pairs.fabrikam,
    });
    t.teardown(() => sink.close());
    t.match(sink.received, [{ from: 'clerk@contoso.test', to: ['ap@fabrikam.test'], secure: true, clientCertificate: 'relay.contoso.test' }], 'over TLS, with our certificate presented');
  });
});
