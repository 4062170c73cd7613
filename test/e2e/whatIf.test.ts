// `tlsrelay policy what-if` end to end: the relay process delivers by MX, under the implicit
// opportunistic default, to real smtp-server next hops with certificates made here —
// fabrikam.test's mx1 with a certificate for its name and mx2 with one for another name,
// litware.test's MX without STARTTLS, northwind.test's with a verified certificate — so
// that the transit record is what real sessions wrote. The command then replays it under a
// config that forces `verify` for the three: the counts, the grouped reasons with their
// hosts, --json, the exit codes. Last, the relay runs the stricter config itself, and its
// deferral for mx2 is the one the replay predicted.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { transitDir } from '../../src/transit/dayFiles.js';
import type { WhatIfReport } from '../../src/transit/whatIf.js';
import { startDnsServer } from '../helpers/dnsServer.js';
import { startSink, type Sink } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { sessionRecord, writeDayFile } from '../helpers/transitRecords.js';

const DAY = 86_400_000;
const ca = await makeCa('what-if test CA');

const ADDRESSES = { mx1: '127.0.0.2', mx2: '127.0.0.3', litware: '127.0.0.4', northwind: '127.0.0.5' };

/** The config every file here shares; `outbound` is what the variants differ in. */
function config(dnsPort: number, mxPort: number, outbound = ''): string {
  return `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true, trust: [ca.crt] }
dns: { servers: ["127.0.0.1:${dnsPort}"] }
delivery: { port: ${mxPort} }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
${outbound}`;
}

const STRICTER = `outbound:
  - name: partners
    domains: [fabrikam.test, litware.test, northwind.test]
    tls: verify
`;

const ONLY_NORTHWIND = `outbound:
  - { name: northwind, domains: [northwind.test], tls: verify }
`;

const queuedId = (response: string): string => /queued as ([0-9a-f]+)/.exec(response)![1]!;

async function send(port: number, domain: string): Promise<string> {
  const submitted = await submit({ port, from: 'sender@client.test', to: [`user@${domain}`], data: sampleMessage(domain) });
  if (!submitted.ok) throw new Error(`the relay refused the message for ${domain}: ${submitted.response}`);
  return queuedId(submitted.response);
}

/** Sends one message and waits for its attempt: one session each, in this order. */
async function deliverOne(relay: RelayProcess, port: number, domain: string) {
  const id = await send(port, domain);
  return relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === 'delivered', `the delivery for ${domain}`);
}

t.test('real sessions replayed under a stricter config: what it would have deferred, and why', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  const mxPort = await freePort();
  const sinks: Sink[] = [];
  t.teardown(async () => {
    for (const sink of sinks) await sink.close();
  });
  const sinkAt = async (address: string, options: Parameters<typeof startSink>[0]): Promise<Sink> => {
    const sink = await startSink({ ...options, address, port: mxPort });
    sinks.push(sink);
    return sink;
  };
  const mx1 = await sinkAt(ADDRESSES.mx1, { tls: 'starttls', cert: await makeCert({ names: ['mx1.fabrikam.test'], ca }) });
  await sinkAt(ADDRESSES.mx2, { tls: 'starttls', cert: await makeCert({ names: ['mail.other.test'], ca }) });
  await sinkAt(ADDRESSES.litware, { tls: 'none' });
  await sinkAt(ADDRESSES.northwind, { tls: 'starttls', cert: await makeCert({ names: ['mx.northwind.test'], ca }) });
  const dns = await startDnsServer({
    'fabrikam.test': {
      MX: [
        { preference: 10, exchange: 'mx1.fabrikam.test' },
        { preference: 20, exchange: 'mx2.fabrikam.test' },
      ],
    },
    'mx1.fabrikam.test': { A: [ADDRESSES.mx1] },
    'mx2.fabrikam.test': { A: [ADDRESSES.mx2] },
    'litware.test': { MX: [{ preference: 10, exchange: 'mx.litware.test' }] },
    'mx.litware.test': { A: [ADDRESSES.litware] },
    'northwind.test': { MX: [{ preference: 10, exchange: 'mx.northwind.test' }] },
    'mx.northwind.test': { A: [ADDRESSES.northwind] },
  });
  t.teardown(() => dns.close());

  const current = join(dir, 'tlsrelay.yaml');
  writeFileSync(current, config(dns.port, mxPort));
  const stricter = join(dir, 'stricter.yaml');
  writeFileSync(stricter, config(dns.port, mxPort, STRICTER));
  const onlyNorthwind = join(dir, 'only-northwind.yaml');
  writeFileSync(onlyNorthwind, config(dns.port, mxPort, ONLY_NORTHWIND));

  // what a relay of an older version wrote on this spool: 2 days ago (replayed: cannot tell), 10 days ago (before --since 7d)
  const spool = join(dir, 'spool');
  const older = { domain: 'fabrikam.test', connector: 'default', host: 'mx1.fabrikam.test', policy: { source: 'none' } } as const;
  writeDayFile(spool, 'old-1', [sessionRecord({ ...older, at: new Date(Date.now() - 2 * DAY).toISOString(), messages: 5, delivered: 5 })]);
  writeDayFile(spool, 'old-2', [sessionRecord({ ...older, at: new Date(Date.now() - 10 * DAY).toISOString(), messages: 7, delivered: 7 })]);

  const relay = startRelay(current);
  const port = await relay.port();
  t.match(await deliverOne(relay, port, 'northwind.test'), { host: `mx.northwind.test[${ADDRESSES.northwind}]:${mxPort}`, verdict: 'verified' });
  t.match(await deliverOne(relay, port, 'fabrikam.test'), { host: `mx1.fabrikam.test[${ADDRESSES.mx1}]:${mxPort}`, verdict: 'verified' });
  t.match(await deliverOne(relay, port, 'fabrikam.test'), { host: `mx1.fabrikam.test[${ADDRESSES.mx1}]:${mxPort}` });
  t.match(await deliverOne(relay, port, 'litware.test'), { host: `mx.litware.test[${ADDRESSES.litware}]:${mxPort}`, verdict: 'none' });
  // mx1 goes down: the next message goes to mx2, whose certificate opportunistic TLS takes
  await mx1.close();
  sinks.splice(sinks.indexOf(mx1), 1);
  t.match(await deliverOne(relay, port, 'fabrikam.test'), { host: `mx2.fabrikam.test[${ADDRESSES.mx2}]:${mxPort}`, verdict: 'trusted' });
  t.equal(await relay.stop(), 0);
  const ownLines = readdirSync(transitDir(spool))
    .filter((name) => !name.includes('.old-'))
    .flatMap((name) => readFileSync(join(transitDir(spool), name), 'utf8').split('\n').filter((line) => line !== ''));
  t.equal(ownLines.length, 5, 'one record per session, written by the time the relay stopped');

  const whatIf = (...args: string[]) => runCli(['policy', 'what-if', ...args]);

  const text = await whatIf('-c', stricter, '--current', current);
  t.equal(text.code, 1, `something would be deferred: exit 1; ${text.stderr}`);
  t.equal(text.stderr, '');
  const lines = text.stdout.split('\n');
  t.match(lines[0], `What-if ${stricter}, replayed over the transit record of ${current} from `);
  t.ok(lines.includes('forcing `verify` for fabrikam.test would have deferred 1 of 8 messages in the last 7 days: mx2.fabrikam.test presented a certificate for another name'), text.stdout);
  t.ok(lines.includes('  connector: the implicit default (opportunistic) -> partners (verify); changed: tls'), 'the connectors, and what of them changes');
  t.ok(lines.includes('  4 sessions: 2 would deliver, 1 would be deferred, 1 cannot tell'), 'three sessions of this relay, one of the older one');
  t.ok(lines.includes('  presented a certificate for another name (certificate-host-mismatch): 1 session, 1 message'));
  const mx2Deferral = `450 4.7.5 Server certificate not verified for host mx2.fabrikam.test[${ADDRESSES.mx2}]: the certificate names none of mx2.fabrikam.test (it has DNS:mail.other.test)`;
  t.ok(lines.includes(`    mx2.fabrikam.test: 1 session, 1 message: ${mx2Deferral}`), 'the host, with the deferral the relay would write');
  t.ok(lines.includes('  cannot tell: 1 session, 5 messages: recorded before the relay kept what a replay needs'), 'the older record is counted, not guessed');
  t.ok(lines.includes('  would deliver differently: 2 sessions, 2 messages: TLSv1.3 verified, policy none -> TLSv1.3 verified, policy connector'), 'mx1 still delivers, now under the connector');
  t.ok(lines.includes('forcing `verify` for litware.test would have deferred 1 of 1 message in the last 7 days: mx.litware.test does not offer STARTTLS'), text.stdout);
  t.ok(lines.includes(`    mx.litware.test: 1 session, 1 message: 450 4.7.4 TLS is required, but was not offered by host mx.litware.test[${ADDRESSES.litware}]`));
  t.ok(lines.includes('forcing `verify` for northwind.test would have deferred none of its 1 message in the last 7 days'), text.stdout);
  t.ok(lines.includes('In all: 3 domains replayed, 6 sessions, 10 messages; would defer 2 of their 10 messages; cannot tell for 1 session.'), text.stdout);

  // the current config found as every command finds it, and --json: one document alone on stdout
  const json = await runCli(['policy', 'what-if', '-c', stricter, '--json'], dir, '', { ...process.env, TLSRELAY_CONFIG: current });
  t.equal(json.code, 1, json.stderr);
  t.equal(json.stderr, '');
  const report = JSON.parse(json.stdout) as WhatIfReport & { next: string; current: string };
  t.match(report, { next: stricter, current, total: { sessions: 6, messages: 10, defers: { sessions: 2, messages: 2 }, cannotTell: { sessions: 1, messages: 5 } }, unchanged: { domains: 0 } });
  const fabrikam = report.domains.find((domain) => domain.domain === 'fabrikam.test');
  t.match(fabrikam, {
    current: { name: 'default', level: 'opportunistic', implicit: true },
    next: { name: 'partners', level: 'verify', implicit: false },
    sessions: 4,
    messages: 8,
    delivers: { sessions: 2, messages: 2 },
    defers: { sessions: 1, messages: 1 },
    deferrals: [{ reason: 'certificate-name', failure: 'certificate-host-mismatch', sessions: 1, messages: 1, hosts: [{ host: 'mx2.fabrikam.test', sessions: 1, messages: 1, text: mx2Deferral }] }],
    cannotTell: { sessions: 1, messages: 5, reasons: { 'not-recorded': { sessions: 1, messages: 5 } } },
  });
  t.equal(Date.parse(report.until) - Date.parse(report.since), 7 * DAY, '--since defaults to 7d');

  const longer = JSON.parse((await whatIf('-c', stricter, '--current', current, '--since', '30d', '--json', '--domain', 'fabrikam.test')).stdout) as WhatIfReport;
  t.same(
    longer.domains.map((domain) => [domain.domain, domain.sessions, domain.cannotTell.sessions]),
    [['fabrikam.test', 5, 2]],
    '--since 30d takes in the record of 10 days ago; --domain keeps to one domain',
  );

  const nothingDeferred = await whatIf('-c', onlyNorthwind, '--current', current);
  t.equal(nothingDeferred.code, 0, `nothing would be deferred: exit 0; ${nothingDeferred.stderr}`);
  t.match(nothingDeferred.stdout, /\nforcing `verify` for northwind\.test would have deferred none of its 1 message in the last 7 days\n/);
  t.match(nothingDeferred.stdout, /\n2 domains keep their connector \(5 sessions\): not replayed\.\n$/);

  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, config(dns.port, mxPort, 'outbound:\n  - { name: partners, domains: [fabrikam.test], tls: verfy }\n'));
  const invalid = await whatIf('-c', broken, '--current', current);
  t.equal(invalid.code, 2, 'a config that does not load: exit 2');
  t.match(invalid.stderr, new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:9:\\d+: `), 'saying where, as file:line:col');
  t.equal(invalid.stdout, '');

  const usage = await whatIf('--current', current);
  t.equal(usage.code, 64, 'without -c NEW.yaml: a usage error');
  t.match(usage.stderr, 'what-if needs -c NEW.yaml');

  // the stricter config enforced: the relay's own deferral for mx2 is the one the replay said
  const enforcing = startRelay(stricter);
  t.teardown(() => enforcing.stop());
  const id = await send(await enforcing.port(), 'fabrikam.test');
  const mx2Host = `mx2.fabrikam.test[${ADDRESSES.mx2}]:${mxPort}`;
  const atMx2 = await enforcing.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.host === mx2Host, 'the attempt at mx2');
  t.match(atMx2, { outcome: 'deferred', response: mx2Deferral });
});
