// The transit record and `tlsrelay report tls` end to end: the relay process delivers to
// real next hops (smtp-server sinks with certificates made here: valid, expired, for
// another name, self-signed; one without STARTTLS, one capped at TLS 1.2, one that breaks
// the handshake), writes one record per session, and the command — run while the relay
// runs and after it stopped — counts them per domain: sessions and messages by TLS
// version, verdict and policy source, failures by RFC 8460 result type, the share
// verified. Day files written here with old dates show --since and report.retention.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { transitDir } from '../../src/transit/dayFiles.js';
import type { TransitReport } from '../../src/transit/summary.js';
import { startSink, type Sink, type SinkOptions } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { sessionRecord, writeDayFile } from '../helpers/transitRecords.js';
import { until } from '../helpers/until.js';

const DAY = 86_400_000;
const HOST = '127.0.0.1';

const ca = await makeCa('transit test CA');
const named = { names: ['mx.partner.test'], ips: [HOST], ca };
const certs = {
  valid: await makeCert(named),
  expired: await makeCert({ ...named, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) }),
  wrongName: await makeCert({ names: ['other.test'], ca }),
  selfSigned: await makeCert({ names: ['mx.partner.test'], ips: [HOST] }),
};

interface Route {
  domain: string;
  /** The connector's fields after name, domains and smartHosts. */
  connector: string;
  peer: SinkOptions;
}

/** Each domain its own connector and next hop, one message each: one session each (two for the fallback). */
const ROUTES: Route[] = [
  { domain: 'expired.test', connector: 'tls: verify-ca', peer: { tls: 'starttls', cert: certs.expired } },
  { domain: 'wrong-name.test', connector: 'tls: verify', peer: { tls: 'starttls', cert: certs.wrongName } },
  { domain: 'self-signed.test', connector: 'tls: verify-ca', peer: { tls: 'starttls', cert: certs.selfSigned } },
  { domain: 'no-starttls.test', connector: 'tls: encrypt', peer: { tls: 'none' } },
  { domain: 'opportunistic.test', connector: 'tls: opportunistic', peer: { tls: 'starttls', cert: certs.selfSigned } },
  { domain: 'tls12.test', connector: 'tls: verify-ca', peer: { tls: 'starttls', cert: certs.valid, maxVersion: 'TLSv1.2' } },
  { domain: 'broken.test', connector: 'tls: opportunistic', peer: { tls: 'broken-handshake' } },
];
/** Three messages that wait for a next hop that is down, then go over one session. */
const VERIFIED = 'verified.test';
/** Records written by the test itself, as another relay on the spool would have. */
const HISTORY = 'history.test';

const queuedId = (response: string): string => /queued as ([0-9a-f]+)/.exec(response)![1]!;

async function send(port: number, domain: string, subject: string): Promise<string> {
  const submitted = await submit({ port, from: 'sender@client.test', to: [`user@${domain}`], data: sampleMessage(subject) });
  if (!submitted.ok) throw new Error(`the relay refused the message for ${domain}: ${submitted.response}`);
  return queuedId(submitted.response);
}

const attemptOf = (relay: RelayProcess, id: string, outcome: string): Promise<LogLine> =>
  relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === outcome, `a ${outcome} attempt of ${id}`);

async function report(config: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const run = await runCli(['report', 'tls', ...args, '-c', config]);
  if (run.code !== 0) throw new Error(`report tls ${args.join(' ')}: exit ${run.code}: ${run.stderr}`);
  return run;
}

const json = async (config: string, ...args: string[]): Promise<TransitReport> => JSON.parse((await report(config, '--json', ...args)).stdout) as TransitReport;

t.test('real sessions become records, and report tls counts them', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  const spool = join(dir, 'spool');
  const sinks: Sink[] = [];
  t.teardown(async () => {
    for (const sink of sinks) await sink.close();
  });
  const connectors: string[] = [];
  for (const route of ROUTES) {
    const sink = await startSink(route.peer);
    sinks.push(sink);
    connectors.push(`  - { name: ${route.domain.replace('.test', '')}, domains: [${route.domain}], smartHosts: ["${HOST}:${sink.port}"], ${route.connector} }`);
  }
  const verifiedPort = await freePort();
  connectors.push(`  - { name: verified, domains: [${VERIFIED}], smartHosts: ["${HOST}:${verifiedPort}"], tls: verify }`);

  // what another relay on this spool recorded earlier: past the retention (20d), within it, 3 days and 2 hours ago
  const now = Date.now();
  const pastRetention = writeDayFile(spool, 'other-1', [sessionRecord({ domain: HISTORY, at: new Date(now - 25 * DAY).toISOString() })]);
  const withinRetention = writeDayFile(spool, 'other-1', [sessionRecord({ domain: HISTORY, at: new Date(now - 10 * DAY).toISOString() })]);
  writeDayFile(spool, 'other-2', [sessionRecord({ domain: HISTORY, at: new Date(now - 3 * DAY).toISOString(), messages: 4, delivered: 4 })]);
  writeDayFile(spool, 'other-3', [sessionRecord({ domain: HISTORY, at: new Date(now - 2 * 3_600_000).toISOString(), messages: 2, delivered: 2 })]);

  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true, trust: [ca.crt] }
queue: { dir: spool, retry: [1h] }
report: { retention: 20d }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
${connectors.join('\n')}
`,
  );
  const relay = startRelay(config);
  t.teardown(() => relay.stop());
  const port = await relay.port();

  const pruned = await relay.waitForLog((line) => line.msg === 'transit record: day files past report.retention deleted', 'the retention at the start');
  t.same(pruned.files, [pastRetention.split('/').at(-1)], 'the day file past report.retention is deleted, whole');
  t.notOk(existsSync(pastRetention));
  t.ok(existsSync(withinRetention), 'a day file within it stays');

  // three messages for a next hop that is down: attempts, but no session and no record
  const waiting = [await send(port, VERIFIED, 'one'), await send(port, VERIFIED, 'two'), await send(port, VERIFIED, 'three')];
  for (const id of waiting) await attemptOf(relay, id, 'deferred');
  const ids = new Map<string, string>();
  for (const route of ROUTES) ids.set(route.domain, await send(port, route.domain, route.domain));
  for (const route of ROUTES) {
    const id = ids.get(route.domain)!;
    const delivered = route.connector === 'tls: opportunistic' || route.domain === 'tls12.test';
    await attemptOf(relay, id, delivered ? 'delivered' : 'deferred');
  }

  // the next hop comes up; once the three deferrals are written back, one retry sends them together
  const sink = await startSink({ tls: 'starttls', cert: certs.valid, port: verifiedPort });
  sinks.push(sink);
  await until(async () => {
    const listed = await runCli(['queue', 'list', '--domain', VERIFIED, '--json', '-c', config]);
    const messages = (JSON.parse(listed.stdout) as { messages: Array<{ attempts: number }> }).messages;
    return messages.length === 3 && messages.every((message) => message.attempts === 1);
  });
  const retried = await runCli(['queue', 'retry', '--domain', VERIFIED, '-c', config]);
  t.equal(retried.code, 0, retried.stderr);
  for (const id of waiting) await attemptOf(relay, id, 'delivered');
  t.equal(sink.connections, 1, 'the three went over one connection');

  // the relay's own day file: 9 sessions (the fallback is two: the broken TLS one and the plaintext one)
  const ownLines = (): string[] =>
    readdirSync(transitDir(spool))
      .filter((name) => !name.includes('.other-'))
      .flatMap((name) => readFileSync(join(transitDir(spool), name), 'utf8').split('\n').filter((line) => line !== ''));
  await until(() => existsSync(transitDir(spool)) && ownLines().length >= 9);

  const running = await json(config);
  t.equal(running.total.sessions, 9 + 1, 'the sessions of the last 24h: 9 of this relay, one of history.test 2h ago');
  const domain = (name: string) => running.domains.find((entry) => entry.domain === name);
  const verifiedRecords = JSON.parse(ownLines().find((line) => line.includes(`"domain":"${VERIFIED}"`))!) as Record<string, unknown>;
  t.match(verifiedRecords, {
    v: 1,
    domain: VERIFIED,
    connector: 'verified',
    host: HOST,
    ip: HOST,
    port: verifiedPort,
    reused: false,
    policy: { source: 'connector', level: 'verify' },
    tls: { protocol: 'TLSv1.3', cipher: String },
    verdict: 'verified',
    failure: null,
    outcome: 'delivered',
    reply: /^250 /,
    messages: 3,
    delivered: 3,
  }, 'one record for the session that carried the three messages');
  t.match(domain(VERIFIED), {
    sessions: 1,
    messages: 3,
    verified: { sessions: 1, messages: 3 },
    verifiedShare: { sessions: 1, messages: 1 },
    tlsVersions: { 'TLSv1.3': { sessions: 1, messages: 3 } },
    verdicts: { verified: { sessions: 1, messages: 3 } },
    policies: { connector: { sessions: 1, messages: 3 } },
    failures: {},
  }, 'the deferrals while the next hop was down made no session');

  const refused = (failure: string, verdict: string, tls: string) => ({
    sessions: 1,
    messages: 0,
    verifiedShare: { sessions: verdict === 'verified' ? 1 : 0, messages: null },
    tlsVersions: { [tls]: { sessions: 1, messages: 0 } },
    verdicts: { [verdict]: { sessions: 1, messages: 0 } },
    policies: { connector: { sessions: 1, messages: 0 } },
    failures: { [failure]: { sessions: 1, messages: 0 } },
  });
  t.match(domain('expired.test'), refused('certificate-expired', 'untrusted', 'TLSv1.3'));
  t.match(domain('wrong-name.test'), refused('certificate-host-mismatch', 'trusted', 'TLSv1.3'));
  t.match(domain('self-signed.test'), refused('certificate-not-trusted', 'untrusted', 'TLSv1.3'));
  t.match(domain('no-starttls.test'), refused('starttls-not-supported', 'none', 'plaintext'));
  t.match(domain('opportunistic.test'), {
    sessions: 1,
    messages: 1,
    verifiedShare: { sessions: 0, messages: 0 },
    verdicts: { untrusted: { sessions: 1, messages: 1 } },
    policies: { none: { sessions: 1, messages: 1 } },
    failures: {},
  }, 'opportunistic TLS asks nothing of the certificate: no policy, no failure');
  t.match(domain('tls12.test'), { sessions: 1, messages: 1, tlsVersions: { 'TLSv1.2': { sessions: 1, messages: 1 } }, verdicts: { verified: { sessions: 1, messages: 1 } } });
  t.match(domain('broken.test'), {
    sessions: 2,
    messages: 1,
    tlsVersions: { plaintext: { sessions: 2, messages: 1 } },
    policies: { none: { sessions: 2, messages: 1 } },
    failures: { 'validation-failure': { sessions: 1, messages: 0 } },
  }, 'the broken handshake is a failed session of its own, the plaintext fallback delivers');
  t.match(running.total, { sessions: 10, messages: 3 + 1 + 1 + 1 + 2, verified: { sessions: 3, messages: 3 + 1 + 2 } });
  t.same(Object.keys(domain('expired.test')!.failures), ['certificate-expired'], 'no other failure is counted');

  await relay.stop();
  await t.test('the same report after the relay stopped, as a table', async (t) => {
    const { stdout, stderr } = await report(config);
    t.equal(stderr, '');
    const lines = stdout.split('\n');
    t.match(lines[0], /^Transit security from \d{4}-\d\d-\d\d \d\d:\d\d UTC to \d{4}-\d\d-\d\d \d\d:\d\d UTC \(--since 24h\): 10 sessions, 8 messages delivered$/);
    const header = lines[2]!;
    t.match(header, /^domain\s+sessions\s+messages\s+verified\s+TLSv1\.3\s+TLSv1\.2\s+plaintext\s+failed$/);
    const row = (name: string): string => lines.find((line) => line.startsWith(`${name} `))!;
    t.match(row(VERIFIED), /^verified\.test\s+1\s+3\s+100\.0%\s+1\s+0\s+0\s+0$/);
    t.match(row('broken.test'), /^broken\.test\s+2\s+1\s+0\.0%\s+0\s+0\s+2\s+1$/);
    t.match(row('all domains'), /^all domains\s+10\s+8\s+30\.0%\s+/);
    // right-aligned numbers: every row of the table ends each column where the header does
    const table = lines.slice(2, lines.indexOf('', 3));
    for (const column of ['sessions', 'messages', 'verified', 'failed']) {
      const end = header.indexOf(column) + column.length;
      for (const line of table.slice(1)) t.match(line[end - 1], /[0-9%]/, `${column} ends at column ${end}: ${line}`);
    }
    const detail = lines.slice(lines.indexOf('expired.test: 0.0% of sessions and - of messages verified'));
    t.match(detail.slice(0, 6).join('\n'), /^expired\.test: .*\n {2}by\s+value\s+sessions\s+messages\n {2}TLS\s+TLSv1\.3\s+1\s+0\n {2}verdict\s+untrusted\s+1\s+0\n {2}policy\s+connector\s+1\s+0\n {2}failure\s+certificate-expired\s+1\s+0$/);
  });

  await t.test('--domain keeps one domain', async (t) => {
    const only = await json(config, '--domain', 'Wrong-Name.test.');
    t.same(only.domains.map((entry) => entry.domain), ['wrong-name.test'], 'the name is normalised as the record has it');
    t.equal(only.total.sessions, 1);
    const text = await report(config, '--domain', 'nobody.test');
    t.match(text.stdout, /\(--since 24h\): no delivery sessions recorded\n$/);
  });

  await t.test('--since sets the period', async (t) => {
    const week = await json(config, '--since', '7d');
    t.match(week.domains.find((entry) => entry.domain === HISTORY), { sessions: 2, messages: 6 }, '3 days and 2 hours ago');
    const month = await json(config, '--since', '30d');
    t.match(month.domains.find((entry) => entry.domain === HISTORY), { sessions: 3, messages: 7 }, 'the 10-day-old record too; the one past the retention is gone');
    const hour = await json(config, '--since', '1h', '--domain', HISTORY);
    t.same(hour.domains, [], 'nothing of history.test in the last hour');
    t.ok(Date.parse(week.until) - Date.parse(week.since) === 7 * DAY, 'since is until minus the duration');
  });
});
