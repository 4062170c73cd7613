// The admin listener of the real relay (node dist/main.js): real SMTP sessions — accepted
// in TLS and in plaintext, refused for relaying and for TLS, a broken inbound handshake —
// deliveries to real smtp-server sinks (one verified, one with a certificate for another
// name) and to a next hop that is down, then /metrics scraped over HTTP and its counters
// and labels checked against what happened. HTTP Basic on a loopback listener with a
// password, /readyz while draining, and the refusal of a listener off loopback without one.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { hashPassword } from '../../src/config/passwords.js';
import { adminRequest, scrape, sampleValue, type Sample } from '../helpers/adminHttp.js';
import { startSink, type Sink } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { openDialog } from '../helpers/smtpDialog.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { until } from '../helpers/until.js';

const PASSWORD = 'scrape me, not the relay';
const OTHER_CLIENT = '127.0.0.2';

const ca = await makeCa('admin test CA');
const sinkCert = await makeCert({ names: ['mx.sink.test'], ips: ['127.0.0.1'], ca });
const otherNameCert = await makeCert({ names: ['other.test'], ca });

/** A door the sink holds each message at, before its 250, until the test opens it. */
class Gate {
  private open: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;
  private arrived: (() => void) | undefined;

  close(): Promise<void> {
    this.open = new Promise((resolve) => (this.release = resolve));
    return new Promise((resolve) => (this.arrived = resolve));
  }

  async pass(): Promise<void> {
    this.arrived?.();
    this.arrived = undefined;
    await this.open;
  }

  opens(): void {
    this.release();
  }
}

const adminPort = async (relay: RelayProcess): Promise<number> => (await relay.waitForLog((line) => line.msg === 'admin listening', 'the admin listener')).port as number;

const attempt = (relay: RelayProcess, id: string): Promise<LogLine> => relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, `the attempt of ${id}`);

async function accepted(port: number, to: string, tls: 'starttls' | 'none' = 'starttls'): Promise<string> {
  const result = await submit({ port, tls, from: 'sender@contoso.test', to: [to], data: sampleMessage(`for ${to}`) });
  if (!result.ok) throw new Error(`refused: ${result.response}`);
  return /queued as (\S+)/.exec(result.response)![1]!;
}

/** Bytes that are not a TLS ClientHello, after the relay said 220 to STARTTLS. */
async function brokenHandshake(port: number): Promise<void> {
  const dialog = await openDialog(port);
  await dialog.command('EHLO client.test');
  await dialog.command('STARTTLS');
  await dialog.write('this is not TLS\r\n');
  await dialog.closed();
}

t.test('metrics from real sessions and deliveries; Basic auth; /readyz while draining', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  const gate = new Gate();
  const sinks: Sink[] = [];
  t.teardown(async () => {
    gate.opens();
    for (const sink of sinks) await sink.close();
  });
  const sink = await startSink({ tls: 'starttls', cert: sinkCert, beforeDataReply: () => gate.pass() });
  const otherName = await startSink({ tls: 'starttls', cert: otherNameCert });
  sinks.push(sink, otherName);
  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0, tls: starttls }]
queue: { dir: spool, retry: [1h] }
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true, trust: [ca.crt] }
inbound:
  - { name: local, match: { ips: [127.0.0.1/32] }, relay: true }
  - { name: partner, match: { senderDomains: [partner.test] }, require: { tls: true } }
outbound:
  - { name: sink, domains: [sink.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: verify, tlsNames: [mx.sink.test] }
  - { name: wrongname, domains: [wrong.test], smartHosts: ["127.0.0.1:${otherName.port}"], tls: verify, tlsNames: [mx.wrong.test] }
  - { name: down, domains: [down.test], smartHosts: ["127.0.0.1:${await freePort()}"] }
admin: { address: 127.0.0.1, port: 0, passwordHash: "${await hashPassword(PASSWORD)}" }
`,
  );
  const relay = startRelay(config);
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await relay.stop();
  });
  const port = await relay.port();
  const admin = await adminPort(relay);

  t.test('HTTP: probes open, the rest behind the password, 4xx for what is not served', async (t) => {
    const denied = await adminRequest(admin, '/metrics');
    t.equal(denied.status, 401);
    t.equal(denied.headers['www-authenticate'], 'Basic realm="tlsrelay admin", charset="UTF-8"', 'the challenge');
    t.notMatch(denied.body, /tlsrelay_/, 'no metric without the password');
    t.equal((await adminRequest(admin, '/metrics', { password: 'wrong' })).status, 401, 'a wrong password');
    t.equal((await adminRequest(admin, '/metrics', { authorization: `Basic ${Buffer.from(`root:${PASSWORD}`).toString('base64')}` })).status, 401, 'another user');
    t.equal((await adminRequest(admin, '/metrics', { authorization: 'Basic !!!' })).status, 401, 'a header that is not Basic base64');
    t.equal((await adminRequest(admin, '/nothing-here')).status, 401, 'an unknown path asks for the password first');
    t.equal((await adminRequest(admin, '/nothing-here', { password: PASSWORD })).status, 404);
    const post = await adminRequest(admin, '/metrics', { method: 'POST', password: PASSWORD });
    t.equal(post.status, 405, 'nothing changes state: POST is refused');
    t.equal(post.headers.allow, 'GET, HEAD');
    t.equal((await adminRequest(admin, '/healthz', { method: 'DELETE' })).status, 405, 'on a probe too, without a password');
    t.strictSame(await adminRequest(admin, '/healthz').then(({ status, body }) => ({ status, body })), { status: 200, body: 'ok\n' }, '/healthz needs no password');
    t.strictSame(await adminRequest(admin, '/readyz').then(({ status, body }) => ({ status, body })), { status: 200, body: 'ready\n' }, '/readyz neither');
    const head = await adminRequest(admin, '/metrics', { method: 'HEAD', password: PASSWORD });
    t.equal(head.status, 200, 'HEAD');
    t.equal(head.body, '', 'HEAD has no body');
    // not HTTP at all: Node answers 400, and the listener serves on
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(admin, '127.0.0.1', () => socket.write('HELLO THERE\r\n\r\n'));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
    });
    t.match(raw, /^HTTP\/1\.1 400 Bad Request/, 'a request that is not HTTP: 400');
    t.equal((await adminRequest(admin, '/healthz')).status, 200, 'and the listener still serves');
    t.equal(relay.child.exitCode, null, 'the relay runs on');
  });

  t.test('counters and gauges say what happened', async (t) => {
    // an idle session is counted while it is open, and no longer once it is closed
    const idle = await openDialog(port);
    t.equal(sampleValue(await scrape(admin, PASSWORD), 'tlsrelay_smtp_sessions', { listener: 'smtp' }), 1, 'an open session');
    idle.close();
    await until(async () => sampleValue(await scrape(admin, PASSWORD), 'tlsrelay_smtp_sessions', { listener: 'smtp' }) === 0);

    const relaying = await submit({ port, localAddress: OTHER_CLIENT, from: 'a@elsewhere.test', to: ['user@sink.test'], data: sampleMessage('relay?') });
    t.match(relaying, { ok: false, code: 550, response: /5\.7\.1 Relaying denied/ });
    const plaintext = await submit({ port, tls: 'none', localAddress: OTHER_CLIENT, from: 'a@partner.test', to: ['user@sink.test'], data: sampleMessage('no TLS') });
    t.match(plaintext, { ok: false, code: 530, response: /Must issue a STARTTLS command first/ });
    await brokenHandshake(port);
    const handshake = await relay.waitForLog((line) => line.msg === 'inbound TLS handshake failed', 'the failed handshake');

    // held at the sink before its 250: the connection is open now
    const held = gate.close();
    const first = await accepted(port, 'user@sink.test');
    await held;
    t.equal(sampleValue(await scrape(admin, PASSWORD), 'tlsrelay_outbound_connections', { connector: 'sink' }), 1, 'one connection to the sink, open');
    gate.opens();
    t.match(await attempt(relay, first), { outcome: 'delivered', verdict: 'verified' });
    const second = await accepted(port, 'user@sink.test', 'none');
    t.match(await attempt(relay, second), { outcome: 'delivered' });
    const wrong = await accepted(port, 'user@wrong.test');
    const wrongAttempt = await attempt(relay, wrong);
    t.match(wrongAttempt, { outcome: 'deferred', response: /^450 4\.7\.5 Server certificate not verified/ });
    const down = await accepted(port, 'user@down.test');
    t.match(await attempt(relay, down), { outcome: 'deferred', verdict: 'none', tls: null });

    // the attempt is logged before the round is written back to the queue, which the gauges show
    await until(async () => sampleValue(await scrape(admin, PASSWORD), 'tlsrelay_queue_messages', { state: 'deferred' }) === 2);
    const samples = await scrape(admin, PASSWORD);
    const value = (name: string, labels: Record<string, string> = {}): number | undefined => sampleValue(samples, name, labels);
    t.equal(value('tlsrelay_messages_received_total', { listener: 'smtp', connector: 'local', tls: 'true' }), 3, 'accepted in TLS');
    t.equal(value('tlsrelay_messages_received_total', { listener: 'smtp', connector: 'local', tls: 'false' }), 1, 'accepted in plaintext');
    t.equal(value('tlsrelay_smtp_rejections_total', { listener: 'smtp', reason: 'relaying' }), 1, 'relaying denied');
    t.equal(value('tlsrelay_smtp_rejections_total', { listener: 'smtp', reason: 'tls-required' }), 1, 'TLS required');
    t.equal(value('tlsrelay_tls_handshake_failures_total', { direction: 'inbound', reason: handshake.reason as string }), 1, `inbound: "${String(handshake.reason)}", as the log says`);
    t.equal(value('tlsrelay_tls_handshake_failures_total', { direction: 'outbound', reason: 'certificate-host-mismatch' }), 1, 'outbound: the RFC 8460 result type');

    const attempts = { connector: 'sink', outcome: 'delivered', verdict: 'verified', tls_version: 'TLSv1.3', policy: 'connector' };
    t.equal(value('tlsrelay_delivery_attempts_total', attempts), 2, 'two delivered over verified TLS 1.3 under the connector');
    t.equal(
      value('tlsrelay_delivery_attempts_total', { connector: 'wrongname', outcome: 'deferred', verdict: wrongAttempt.verdict as string, tls_version: 'TLSv1.3', policy: 'connector' }),
      1,
      'deferred by the connector for the name',
    );
    t.equal(value('tlsrelay_delivery_attempts_total', { connector: 'down', outcome: 'deferred', verdict: 'none', tls_version: 'none', policy: 'none' }), 1, 'deferred: the next hop is down');
    t.equal(value('tlsrelay_delivery_duration_seconds_count'), 2, 'two durations, one per delivered message');
    t.ok(value('tlsrelay_delivery_duration_seconds_bucket', { le: '+Inf' }) === 2);

    t.equal(value('tlsrelay_queue_messages', { state: 'deferred' }), 2, 'the two deferred messages');
    t.equal(value('tlsrelay_queue_messages', { state: 'due' }), 0);
    t.equal(value('tlsrelay_queue_messages', { state: 'held' }), 0);
    t.ok(value('tlsrelay_queue_oldest_message_age_seconds')! > 0, 'the oldest message has an age');

    const served = new X509Certificate(readFileSync(join(dir, 'relay.crt')));
    t.equal(value('tlsrelay_certificate_expiry_timestamp_seconds', { role: 'certificate', subject: 'CN=relay.test' }), Date.parse(served.validTo) / 1000, 'the served certificate');
    const anchor = new X509Certificate(ca.cert);
    t.equal(value('tlsrelay_certificate_expiry_timestamp_seconds', { role: 'trust-anchor', subject: anchor.subject.replace(/\n/g, ', ') }), Date.parse(anchor.validTo) / 1000, 'the trust anchor');
    t.ok(value('process_cpu_seconds_total') !== undefined, 'process metrics');
    t.ok(samples.some((sample) => sample.name.startsWith('nodejs_')), 'Node.js metrics');
    const addresses = samples.filter((sample: Sample) => Object.values(sample.labels).some((label) => label.includes('@')));
    t.strictSame(addresses, [], 'no label carries an address');

    // another process's change reaches the gauges: it announces it, and the agent reads the queue again
    const hold = await runCli(['queue', 'hold', down, '-c', config]);
    t.equal(hold.code, 0, hold.stderr);
    await until(async () => sampleValue(await scrape(admin, PASSWORD), 'tlsrelay_queue_messages', { state: 'held' }) === 1);
    t.equal(sampleValue(await scrape(admin, PASSWORD), 'tlsrelay_queue_messages', { state: 'deferred' }), 1, 'held, no longer deferred');
  });

  t.test('/readyz: 503 while draining, /healthz still 200, then the relay stops', async (t) => {
    const held = gate.close();
    const id = await accepted(port, 'user@sink.test');
    await held;
    relay.child.kill('SIGTERM');
    stopped = true;
    await until(async () => (await adminRequest(admin, '/readyz')).status === 503);
    t.strictSame(await adminRequest(admin, '/readyz').then(({ status, body }) => ({ status, body })), { status: 503, body: 'not ready: shutting down\n' }, 'the reason in the body');
    t.equal((await adminRequest(admin, '/healthz')).status, 200, 'the process still serves');
    gate.opens();
    t.match(await attempt(relay, id), { outcome: 'delivered' }, 'the delivery in flight finished');
    t.equal(await relay.exited, 0);
  });
});

t.test('check-config and start refuse an admin listener off loopback without a password', async (t) => {
  const dir = t.testdir();
  const config = writeConfig(dir, 'tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }\nadmin:\n  address: 0.0.0.0\n');
  const expected = `${config}:3:12: admin.address: 0.0.0.0 is not a loopback address: set admin.passwordHash`;
  const checked = await runCli(['check-config', '-c', config]);
  t.equal(checked.code, 2);
  t.match(checked.stderr, expected, 'file:line:col of the address');
  const started = await runCli(['start', '-c', config]);
  t.equal(started.code, 2, 'start refuses it before anything listens');
  t.match(started.stderr, expected);
  writeConfig(dir, `tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }\nadmin:\n  address: 0.0.0.0\n  passwordHash: "${await hashPassword(PASSWORD)}"\n`);
  t.equal((await runCli(['check-config', '-c', config])).code, 0, 'with a password it is valid');
});

t.test('SIGHUP: a password set in the file applies at once; a new address or port waits for a restart', async (t) => {
  const dir = t.testdir();
  const base = 'listeners: [{ name: smtp, port: 0 }]\ntls: { cert: relay.crt, key: relay.key, generateIfMissing: true }\nqueue: { dir: spool }\n';
  const config = writeConfig(dir, `${base}admin: { port: 0 }\n`);
  const relay = startRelay(config);
  t.teardown(() => relay.stop());
  const admin = await adminPort(relay);
  t.equal((await adminRequest(admin, '/metrics')).status, 200, 'no password: open on loopback');

  writeConfig(dir, `${base}admin: { port: 0, passwordHash: "${await hashPassword(PASSWORD)}" }\n`);
  relay.child.kill('SIGHUP');
  await relay.waitForLog((line) => line.msg === 'configuration reloaded', 'the reload');
  t.equal((await adminRequest(admin, '/metrics')).status, 401, 'the password applies to the next request');
  t.equal((await adminRequest(admin, '/metrics', { password: PASSWORD })).status, 200);

  writeConfig(dir, `${base}admin: { port: ${await freePort()} }\n`);
  relay.child.kill('SIGHUP');
  const warned = await relay.waitForLog((line) => Array.isArray(line.needRestart), 'the restart warning');
  t.match(warned.needRestart, ['admin.address or admin.port changed, or the admin section added or removed']);
  t.equal((await adminRequest(admin, '/healthz')).status, 200, 'the listener stays where it was');
});

t.test('an admin port already taken: start says so and exits 1, nothing left listening', async (t) => {
  const dir = t.testdir();
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const port = (taken.address() as AddressInfo).port;
  const config = writeConfig(dir, `listeners: [{ name: smtp, port: 0 }]\ntls: { cert: relay.crt, key: relay.key, generateIfMissing: true }\nqueue: { dir: spool }\nadmin: { port: ${port} }\n`);
  const relay = startRelay(config);
  const smtp = await relay.port();
  t.equal(await relay.exited, 1);
  t.match(relay.stderr(), `tlsrelay: admin listener cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
  const refused = await submit({ port: smtp, from: 'a@contoso.test', to: ['b@contoso.test'], data: sampleMessage() });
  t.match(refused, { ok: false, response: /ECONNREFUSED/ }, 'the SMTP listener was closed again');
});
