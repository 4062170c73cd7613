// REQUIRETLS (RFC 8689) through the real relay process: a raw SMTP client sees the keyword
// in EHLO only after STARTTLS and gets 530 5.7.10 for it in plaintext; a REQUIRETLS
// message reaches only a next hop that authenticated (a `verify` connector, the test CA in
// tls.trust) and advertises REQUIRETLS, with the keyword on MAIL FROM; with no such hop it
// bounces 5.7.30 with the headers only, in a bounce that is itself no REQUIRETLS message;
// and a deferred one keeps the flag in the spool.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startSink, type Sink } from '../helpers/peers.js';
import { makeCa, makeCert } from '../helpers/pki.js';
import { runCli, startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { openDialog, type SmtpDialog } from '../helpers/smtpDialog.js';

const HOST = '127.0.0.1';
const MESSAGE = 'From: a@client.test\r\nTo: r@partner.test\r\nSubject: for your eyes only\r\nMessage-ID: <requiretls-e2e@client.test>\r\n\r\nSECRET BODY\r\n';

const ca = await makeCa('requiretls e2e CA');
const trusted = await makeCert({ names: ['mx.partner.test'], ips: [HOST], ca });
const selfSigned = await makeCert({ names: ['mx.partner.test'], ips: [HOST] });
const relayCert = await makeCert({ names: ['relay.test'], ca });

/** A next hop with a certificate from the test CA, without REQUIRETLS. */
const without = await startSink({ tls: 'starttls', cert: trusted });
/** A next hop with a certificate from the test CA that advertises REQUIRETLS. */
const capable = await startSink({ tls: 'starttls', cert: trusted, requireTls: true });
/** REQUIRETLS advertised, but nobody vouches for its certificate. */
const untrusted = await startSink({ tls: 'starttls', cert: selfSigned, requireTls: true });
const plain = await startSink({ tls: 'none' });
/** Where bounces to a@client.test go: it would take REQUIRETLS, so a bounce that carried it would show. */
const senderSide = await startSink({ tls: 'starttls', cert: trusted, requireTls: true });
const sinks: Sink[] = [without, capable, untrusted, plain, senderSide];

const dir = t.testdir();
writeFileSync(join(dir, 'ca.crt'), ca.cert);
writeFileSync(join(dir, 'relay.crt'), relayCert.cert);
writeFileSync(join(dir, 'relay.key'), relayCert.key);
const hops = (...list: Sink[]): string => `[${list.map((sink) => `"${HOST}:${sink.port}"`).join(', ')}]`;
const configFile = writeConfig(
  dir,
  `server: { hostname: relay.test }
listeners: [{ name: smtp, port: 0, tls: starttls }]
tls: { cert: relay.crt, key: relay.key, trust: [ca.crt] }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: partner, domains: [partner.test], smartHosts: ${hops(without, capable)}, tls: verify }
  - { name: loose, domains: [loose.test], smartHosts: ${hops(untrusted, plain)}, tls: opportunistic }
  - { name: held, domains: [held.test], smartHosts: ${hops(untrusted)}, tls: verify }
  - { name: senders, domains: [client.test], smartHosts: ${hops(senderSide)}, tls: verify }
`,
);
const relay: RelayProcess = startRelay(configFile);
t.teardown(async () => {
  await relay.stop();
  await Promise.all(sinks.map((sink) => sink.close()));
});
const port = await relay.port();

/** A session inside TLS, after the second EHLO. */
async function tlsDialog(): Promise<SmtpDialog> {
  const dialog = await openDialog(port);
  await dialog.command('EHLO client.test');
  const ready = await dialog.startTls();
  if (!ready.startsWith('220')) throw new Error(`STARTTLS refused: ${ready}`);
  await dialog.command('EHLO client.test');
  return dialog;
}

/** One message over a session inside TLS; resolves with its queue ID. */
async function send(mailFrom: string, rcptTo: string): Promise<string> {
  const dialog = await tlsDialog();
  try {
    const mail = await dialog.command(mailFrom);
    if (!mail.startsWith('250')) throw new Error(`MAIL refused: ${mail}`);
    const rcpt = await dialog.command(`RCPT TO:<${rcptTo}>`);
    if (!rcpt.startsWith('250')) throw new Error(`RCPT refused: ${rcpt}`);
    await dialog.command('DATA');
    const done = await dialog.command(`${MESSAGE}.`);
    const queueId = /queued as ([0-9a-f]+)/.exec(done)?.[1];
    if (!queueId) throw new Error(`DATA refused: ${done}`);
    await dialog.command('QUIT');
    return queueId;
  } finally {
    dialog.close();
  }
}

const attempt = (queueId: string, outcome: string) => (line: LogLine) => line.msg === 'delivery attempt' && line.queueId === queueId && line.outcome === outcome;

t.test('REQUIRETLS is listed only inside TLS, and refused with 530 5.7.10 outside it', async (t) => {
  const dialog = await openDialog(port);
  t.teardown(() => dialog.close());
  const before = await dialog.command('EHLO client.test');
  t.match(before, /^250[ -]STARTTLS\r$/m);
  t.notMatch(before, /REQUIRETLS/, 'not before STARTTLS');
  t.equal(await dialog.command('MAIL FROM:<a@client.test> REQUIRETLS'), '530 5.7.10 REQUIRETLS needs TLS\r\n');
  t.equal(await dialog.command('MAIL FROM:<a@client.test>'), '250 2.1.0 Ok\r\n', 'the session goes on: MAIL without it is taken');
  await dialog.command('RSET');
  t.match(await dialog.startTls(), /^220 /);
  t.match(await dialog.command('EHLO client.test'), /^250[ -]REQUIRETLS\r$/m, 'listed after STARTTLS');
  t.equal(await dialog.command('MAIL FROM:<a@client.test> REQUIRETLS'), '250 2.1.0 Ok\r\n');
  t.match(await dialog.command('MAIL FROM:<b@client.test>'), /^503 /, 'and it opened a transaction');
});

t.test('a REQUIRETLS message skips the verified host without REQUIRETLS and reaches the one with it, the keyword on MAIL FROM', async (t) => {
  const queueId = await send('MAIL FROM:<a@client.test> REQUIRETLS', 'r@partner.test');
  const delivered = await relay.waitForLog(attempt(queueId, 'delivered'), 'the REQUIRETLS message delivered');
  t.match(delivered, { host: `${HOST}:${capable.port}`, verdict: 'verified', requireTls: 'met' });
  t.match(relay.logs.filter(attempt(queueId, 'bounced')), [
    { host: `${HOST}:${without.port}`, requireTls: 'not-advertised', response: `550 5.7.30 REQUIRETLS support required: host ${HOST} does not advertise REQUIRETLS` },
  ]);
  t.same(
    capable.received.map((m) => [m.to, m.secure, m.requireTls]),
    [[['r@partner.test'], true, true]],
  );
  t.same(without.received, [], 'the host without REQUIRETLS never got it');

  const ordinary = await send('MAIL FROM:<a@client.test>', 'o@partner.test');
  await relay.waitForLog(attempt(ordinary, 'delivered'), 'the ordinary message delivered');
  t.same(without.received.map((m) => [m.to, m.requireTls]), [[['o@partner.test'], false]], 'an ordinary message goes to the first host, as before');
});

t.test('with no host that qualifies, it bounces 5.7.30 at once: headers only, and the bounce is no REQUIRETLS message', async (t) => {
  const queueId = await send('MAIL FROM:<a@client.test> REQUIRETLS RET=FULL', 'r@loose.test');
  const queued = await relay.waitForLog((line) => line.msg === 'bounce queued' && line.queueId === queueId, 'the bounce');
  await relay.waitForLog(attempt(queued.bounceId as string, 'delivered'), 'the bounce delivered');
  t.match(relay.logs.filter(attempt(queueId, 'bounced')), [
    { host: `${HOST}:${untrusted.port}`, verdict: 'untrusted', requireTls: 'not-authenticated' },
    { host: `${HOST}:${plain.port}`, verdict: 'none', requireTls: 'no-tls' },
  ]);
  t.same([...untrusted.received, ...plain.received], [], 'neither host got it');

  t.equal(senderSide.received.length, 1);
  const bounce = senderSide.received[0]!;
  t.equal(bounce.from, '', 'from the null sender');
  t.equal(bounce.requireTls, false, 'the bounce went without REQUIRETLS, to a host that would have taken it');
  const text = bounce.data.replace(/\r\n[ \t]+/g, ' ');
  t.match(text, /^Status: 5\.7\.30$/m);
  t.match(text, new RegExp(`^Diagnostic-Code: smtp; 550 5\\.7\\.30 REQUIRETLS support required: the session with host ${HOST.replace(/\./g, '\\.')} is not encrypted$`, 'm'));
  t.match(text, /Content-Type: text\/rfc822-headers\r\n[\s\S]*Subject: for your eyes only/, 'the headers come back');
  t.notMatch(text, /SECRET BODY/, 'the body does not, though RET=FULL asked for it');
  t.notMatch(text, /message\/rfc822/);
});

t.test('a host the connector itself defers keeps the message queued, REQUIRETLS in its envelope', async (t) => {
  const queueId = await send('MAIL FROM:<a@client.test> REQUIRETLS', 'r@held.test');
  const deferred = await relay.waitForLog(attempt(queueId, 'deferred'), 'the deferral');
  t.match(deferred, { requireTls: 'no-session', response: /^450 4\.7\.5 Server certificate not verified/ });
  const json = await runCli(['queue', 'show', queueId, '--json', '-c', configFile]);
  t.equal(json.code, 0, json.stderr);
  t.match(JSON.parse(json.stdout), { requireTls: true, attempts: [{ requireTls: 'no-session' }] });
  const shown = await runCli(['queue', 'show', queueId, '-c', configFile]);
  t.match(shown.stdout, /^from {8}<a@client\.test> {2}REQUIRETLS$/m);
  t.match(shown.stdout, / {2}REQUIRETLS no-session {2}deferred {2}450 4\.7\.5 /);
});
