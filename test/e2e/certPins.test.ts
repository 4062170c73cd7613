// The pins `tlsrelay cert info` prints are the pins a partner configures: a second relay,
// the partner, delivers to this one under `tls: fingerprint` with each printed pin — the
// certificate's and the public key's — and both sessions are pinned; a pin of another
// certificate defers. Two real relays over real STARTTLS on loopback.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSink } from '../helpers/peers.js';
import { makeCert } from '../helpers/pki.js';
import { runCli, startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import type { CertInfoReport } from '../../src/cli/certReport.js';

const queueIdOf = (response: string): string => /queued as ([0-9a-f]+)/.exec(response)?.[1] ?? 'none';

const settled = (relay: RelayProcess, queueId: string): Promise<LogLine> =>
  relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === queueId && (line.outcome === 'delivered' || line.outcome === 'deferred'), `the attempt of ${queueId}`);

t.test("a partner relay pinned to what cert info prints delivers to this relay, pinned", async (t) => {
  const ours = await makeCert({ names: ['relay.contoso.test'] });
  const other = await makeCert({ names: ['relay.contoso.test'] });
  const onward = await startSink({ tls: 'none' });
  const base = t.testdir();
  const [ourDir, otherDir, partnerDir] = ['ours', 'other', 'partner'].map((name) => {
    mkdirSync(join(base, name));
    return join(base, name);
  }) as [string, string, string];
  writeFileSync(join(ourDir, 'relay.crt'), ours.cert);
  writeFileSync(join(ourDir, 'relay.key'), ours.key);
  const ourConfig = writeConfig(
    ourDir,
    `server: { hostname: relay.contoso.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key }
queue: { dir: spool }
acceptedDomains: [contoso.test, "*.contoso.test"]
outbound: [{ name: mailboxes, domains: [contoso.test, "*.contoso.test"], smartHosts: ["127.0.0.1:${onward.port}"], tls: none }]
`,
  );
  const printed = await runCli(['cert', 'info', '--json', '-c', ourConfig]);
  t.equal(printed.code, 0, printed.stderr);
  const { fingerprints } = (JSON.parse(printed.stdout) as CertInfoReport).certificates[0]!.certificate;
  const otherPins = (JSON.parse((await runCli(['cert', 'info', '--json', '-c', writeConfigFor(otherDir, other)])).stdout) as CertInfoReport).certificates[0]!.certificate.fingerprints;

  const relay = startRelay(ourConfig);
  const partner = startRelay(
    writeConfig(
      partnerDir,
      `server: { hostname: relay.fabrikam.test }
listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: by-certificate, domains: [contoso.test], smartHosts: ["127.0.0.1:${await relay.port()}"], tls: fingerprint, fingerprints: ["${fingerprints.certificate}"] }
  - { name: by-key, domains: [sales.contoso.test], smartHosts: ["127.0.0.1:${await relay.port()}"], tls: fingerprint, fingerprints: ["${fingerprints.publicKey}"] }
  - { name: stale-pin, domains: [old.contoso.test], smartHosts: ["127.0.0.1:${await relay.port()}"], tls: fingerprint, fingerprints: ["${otherPins.certificate}", "${otherPins.publicKey}"] }
`,
    ),
  );
  t.teardown(async () => {
    await Promise.all([partner.stop(), relay.stop()]);
    await onward.close();
  });
  const partnerPort = await partner.port();
  for (const [domain, connector, outcome, verdict] of [
    ['contoso.test', 'by-certificate', 'delivered', 'pinned'],
    ['sales.contoso.test', 'by-key', 'delivered', 'pinned'],
    ['old.contoso.test', 'stale-pin', 'deferred', 'untrusted'],
  ] as const) {
    const submitted = await submit({ port: partnerPort, tls: 'none', from: 'alice@fabrikam.test', to: [`bob@${domain}`], data: sampleMessage(domain) });
    t.ok(submitted.ok, `${domain}: the partner relay takes it`);
    if (!submitted.ok) continue;
    const attempt = await settled(partner, queueIdOf(submitted.response));
    t.match(attempt, { connector, tlsLevel: 'fingerprint', outcome, verdict }, `${connector}: ${outcome}, ${verdict}`);
    if (outcome === 'deferred') t.match(attempt.response, /^450 4\.7\.5 Server certificate not verified for host 127\.0\.0\.1: no configured fingerprint matches/);
  }
});

/** A config serving `pair`, only for printing its pins. */
function writeConfigFor(dir: string, pair: { cert: string; key: string }): string {
  writeFileSync(join(dir, 'relay.crt'), pair.cert);
  writeFileSync(join(dir, 'relay.key'), pair.key);
  return writeConfig(dir, 'server: { hostname: relay.test }\nlisteners: [{ name: smtp, port: 0 }]\ntls: { cert: relay.crt, key: relay.key }\nqueue: { dir: spool }\n');
}
