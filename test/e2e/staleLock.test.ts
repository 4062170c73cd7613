// Two relays share one spool (two containers on one volume). A holder that stalls past
// the lock's stale age loses the message to the other, and must then write nothing: not
// its deliveries, not its DSNs, not the message's removal — the new holder's record stands.
// The file spool's lock files are what this looks at and forges (queue.store: files); the
// LMDB store's claims, fenced inside each commit, are tested by its contract suite.
import { spawnSync } from 'node:child_process';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CLAIM_STALE_MS } from '../../src/queue/messageQueue.js';
import { startSink, type Received } from '../helpers/peers.js';
import { relayCommand, startRelay, startRelayCommand, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { until } from '../helpers/until.js';

// A relay on a host of its own: `unshare -u` gives it a UTS namespace whose host name is
// its own, so the other relay sees a holder whose process IDs mean nothing to it and
// judges its lock by age alone, as across containers.
const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['-u', 'true']).status === 0;

function startOnHost(host: string, config: string): RelayProcess {
  const quoted = relayCommand(config)
    .map((word) => `'${word}'`)
    .join(' ');
  return startRelayCommand(['unshare', '-u', 'sh', '-c', `hostname ${host} && exec ${quoted}`]);
}

/** A reply the sink gives at the end of DATA in place of 250. */
function refusal(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** A next-hop reply held until the test lets it go (`release()` for 250, `release(error)` to refuse). */
interface HeldReply {
  reached: Promise<Received>;
  release: (refuse?: Error) => void;
}

function heldReply(): HeldReply & { hold: (message: Received) => Promise<void> } {
  let reached!: (message: Received) => void;
  let release!: (refuse?: Error) => void;
  const released = new Promise<Error | undefined>((resolve) => (release = resolve));
  return {
    reached: new Promise<Received>((resolve) => (reached = resolve)),
    release,
    hold: async (message) => {
      reached(message);
      const refuse = await released;
      if (refuse) throw refuse;
    },
  };
}

function config(dir: string, smartHosts: Record<string, number>): string {
  const outbound = Object.entries(smartHosts).map(([domain, port]) => `  - { name: ${domain.split('.')[0]}, domains: [${domain}], smartHosts: ["127.0.0.1:${port}"], tls: none }`);
  return writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, store: files, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
${outbound.join('\n')}
`,
  );
}

async function send(t: Test, relay: RelayProcess, to: string[]): Promise<string> {
  const sent = await submit({ port: await relay.port(), tls: 'none', from: 'alice@client.test', to, data: sampleMessage('shared spool') });
  if (!sent.ok) throw new Error(`refused: ${sent.response}`);
  t.pass('accepted');
  return /queued as (\S+)/.exec(sent.response)![1]!;
}

/** Resolves once every thread of the process is stopped (SIGSTOP): from then on it writes nothing, not even a refresh already under way. */
async function stopped(pid: number): Promise<void> {
  const state = async (task: string) => /\) (\S)/.exec(await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8'))?.[1];
  await until(async () => (await Promise.all((await readdir(`/proc/${pid}/task`)).map(state))).every((s) => s === 'T'));
}

const discarded = (id: string) => (line: LogLine) => line.queueId === id && line.msg?.startsWith('delivery results discarded') === true;

t.test('a relay frozen past the stale age while its next hop holds the reply: the relay that took the message over keeps it', { skip: canUnshare ? false : 'needs root and unshare -u to give each relay a host name of its own' }, async (t) => {
  const first = heldReply();
  let transactions = 0;
  // relay-a's transaction waits for the test; relay-b's, the second, is deferred
  const sink = await startSink({ tls: 'none', beforeDataReply: (message) => (++transactions === 1 ? first.hold(message) : Promise.reject(refusal(451, '4.3.2 Try again later'))) });
  const dir = t.testdir();
  const file = config(dir, { 'partner.test': sink.port });
  const spool = join(dir, 'spool');
  const relayA = startOnHost('relay-a', file);
  let relayB: RelayProcess | undefined;
  t.teardown(async () => {
    relayA.child.kill('SIGCONT');
    first.release();
    await Promise.all([relayA.stop(), relayB?.stop()]);
    await sink.close();
  });

  const id = await send(t, relayA, ['bob@partner.test']);
  await first.reached;
  const lockFile = join(spool, 'lock', `${id}.lock`);
  t.match(JSON.parse(await readFile(lockFile, 'utf8')), { host: 'relay-a' }, 'relay-a holds the message while its next hop has it');

  // stopped as a paused VM or a blocked event loop is: no refresh of its lock any more
  relayA.child.kill('SIGSTOP');
  await stopped(relayA.child.pid!);
  // CLAIM_STALE_MS passing without a refresh, as every other host judges it: by the lock's file time
  const unrefreshedSince = new Date(Date.now() - CLAIM_STALE_MS - 5_000);
  await utimes(lockFile, unrefreshedSince, unrefreshedSince);

  relayB = startOnHost('relay-b', file);
  const attemptB = await relayB.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, 'relay-b taking the message over');
  t.match(attemptB, { outcome: 'deferred', code: 451 }, 'relay-b took the stale lock and tried the message itself');
  // its record is written when it lets the lock go
  await until(async () => !(await readdir(join(spool, 'lock'))).includes(`${id}.lock`));
  const recordedByB = await readFile(join(spool, 'env', `${id}.json`), 'utf8');
  t.match(JSON.parse(recordedByB), { recipients: [{ state: 'pending', lastError: /^451 4\.3\.2/ }], attempts: [{ code: 451 }] }, "relay-b's record");

  relayA.child.kill('SIGCONT');
  first.release();
  const attemptA = await relayA.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, "relay-a's attempt");
  t.match(attemptA, { outcome: 'delivered', code: 250 }, 'the next hop took relay-a\'s copy after all');
  const envelopeFile = join(spool, 'env', `${id}.json`);
  // relay-a either discards its results (and says so) or writes them: the message would be gone.
  // One poll for both, so that it ends when either happens (a race with a poll of its own
  // left that poll running for good, and the test process with it)
  await until(async () => relayA.logs.some(discarded(id)) || !(await readdir(join(spool, 'env'))).includes(`${id}.json`));

  t.match(
    relayA.logs.find(discarded(id)),
    { level: 50, claim: 'the message claim is no longer there', delivered: ['bob@partner.test'], msg: /another process took over the message claim \(this one had not refreshed it for 60 s/ },
    'relay-a says why it wrote nothing, and who may get the message again',
  );
  t.equal(await readFile(envelopeFile, 'utf8'), recordedByB, "relay-b's record stands: relay-a neither overwrote it nor removed the message");
  t.ok((await readdir(join(spool, 'data'))).includes(id), 'the message file is still there for relay-b\'s next attempt');
  t.same(await readdir(join(spool, 'lock')), [], 'relay-a made no lock again');
  t.equal(sink.received.length, 2, "the next hop saw both relays' transactions");
});

t.test('a lock taken over while a message is out: no early write of one domain, no DSN, no record', async (t) => {
  const partner = heldReply();
  const refused = heldReply();
  const partnerSink = await startSink({ tls: 'none', beforeDataReply: partner.hold });
  const refusingSink = await startSink({ tls: 'none', beforeDataReply: refused.hold });
  const dir = t.testdir();
  const relay = startRelay(config(dir, { 'partner.test': partnerSink.port, 'refusing.test': refusingSink.port }));
  t.teardown(async () => {
    partner.release();
    refused.release();
    await relay.stop();
    await partnerSink.close();
    await refusingSink.close();
  });

  const id = await send(t, relay, ['bob@partner.test', 'carol@refusing.test']);
  await Promise.all([partner.reached, refused.reached]);
  const spool = join(dir, 'spool');
  const envelopeFile = join(spool, 'env', `${id}.json`);
  const before = await readFile(envelopeFile, 'utf8');
  // what a relay on another host leaves that judged this one's lock stale, broke it and took it
  await writeFile(join(spool, 'lock', `${id}.lock`), JSON.stringify({ pid: 1, host: 'relay-b', token: '0123456789abcdef', since: new Date().toISOString() }));

  partner.release();
  const early = await relay.waitForLog(
    (line) => line.queueId === id && (line.msg === 'deliveries recorded while other domains are still being tried' || line.msg?.startsWith('deliveries of one domain not recorded') === true),
    'the early write of partner.test',
  );
  t.match(early, { msg: 'deliveries of one domain not recorded: another process took over the message claim', domain: 'partner.test', claim: /taken over by pid 1 on relay-b/ }, 'the delivery to partner.test is not written early');

  refused.release(refusal(554, '5.7.1 Refused'));
  const round = await relay.waitForLog((line) => line.queueId === id && (discarded(id)(line) || line.msg === 'bounce queued'), 'the round written or discarded');
  t.match(round, { msg: /^delivery results discarded/, claim: /taken over by pid 1 on relay-b/, delivered: ['bob@partner.test'] }, 'the round is discarded before its bounce is queued');
  t.equal(await readFile(envelopeFile, 'utf8'), before, 'the envelope is as the new holder found it');
  t.same(await readdir(join(spool, 'env')), [`${id}.json`], 'no DSN was queued for carol: that is for the new holder to send');
});
