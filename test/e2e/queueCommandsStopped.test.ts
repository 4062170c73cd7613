// `tlsrelay queue …` through the built binary on the spool of a relay that is not running:
// messages in every state, the text and JSON answers, the changes, the bounces of a delete,
// exit codes, and the claim a delivery in progress would hold. For each store.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import type { MessageQueue } from '../../src/queue/messageQueue.js';
import type { AttemptRecord, Envelope } from '../../src/queue/types.js';
import { bytesOf, openQueueStore, QUEUE_STORES, storeContents, type QueueStore } from '../helpers/queueStores.js';
import { MAIN, runCli, writeConfig } from '../helpers/relayProcess.js';

const HOUR = 60 * 60 * 1000;
const MESSAGE = 'From: alice@a.test\r\nTo: bob@partner.test\r\nSubject: quarterly report\r\n\r\nHello.\r\n';

const deferral: AttemptRecord = {
  at: new Date(Date.now() - 60_000).toISOString(),
  domain: 'partner.test',
  connector: 'partner',
  tlsLevel: 'verify',
  host: 'mx.partner.test[127.0.0.1]:2626',
  tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
  verdict: 'untrusted',
  outcome: 'deferred',
  code: 451,
  response: '451 4.7.5 Server certificate not verified for host mx.partner.test: self-signed certificate',
};
const delivery: AttemptRecord = {
  ...deferral,
  domain: 'other.test',
  connector: 'default',
  tlsLevel: 'opportunistic',
  host: 'mx.other.test[127.0.0.1]:25',
  tls: null,
  verdict: 'none',
  outcome: 'delivered',
  code: 250,
  response: '250 2.0.0 Ok: queued as 4711',
};

interface QueuedSpool {
  dir: string;
  config: string;
  /** The store as the relay would find it, opened by the test. */
  spool: MessageQueue;
  /** To bob@partner.test (deferred, TLS not verified) and carol@other.test (delivered). */
  deferred: Envelope;
  /** A bounce (null sender), due. */
  bounce: Envelope;
  /** Held by the administrator. */
  held: Envelope;
}

/** Writes `envelope` as a holder of its claim does, and lets the claim go for the commands under test. */
async function changeClaimed(spool: MessageQueue, envelope: Envelope): Promise<void> {
  const attempt = await spool.claim(envelope.id);
  if (attempt.kind !== 'claimed') throw new Error(`${envelope.id} is claimed already`);
  try {
    await spool.update(envelope, attempt.claim);
  } finally {
    await attempt.claim.release();
  }
}

async function queuedSpool(t: Test, store: QueueStore): Promise<QueuedSpool> {
  const dir = t.testdir();
  const config = writeConfig(
    dir,
    `server: { hostname: relay.test }
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, store: ${store} }
log: { level: warn }
`,
  );
  const spool = await openQueueStore(store, join(dir, 'spool'));
  t.teardown(() => spool.close());
  const stored = await spool.store(
    { from: 'alice@a.test', recipients: [{ address: 'bob@partner.test', domain: 'partner.test' }, { address: 'carol@other.test', domain: 'other.test' }] },
    Readable.from([MESSAGE]),
  );
  const deferred: Envelope = {
    ...stored,
    recipients: [
      { address: 'bob@partner.test', domain: 'partner.test', state: 'pending', lastError: deferral.response },
      { address: 'carol@other.test', domain: 'other.test', state: 'delivered' },
    ],
    attempts: [deferral, delivery],
    nextAttemptAt: new Date(Date.now() + HOUR).toISOString(),
    deferrals: 1,
  };
  await changeClaimed(spool, deferred);
  const bounce = await spool.store({ from: '', recipients: [{ address: 'dave@other.test', domain: 'other.test' }] }, Readable.from([MESSAGE]));
  const toHold = await spool.store({ from: 'erin@a.test', recipients: [{ address: 'frank@partner.test', domain: 'partner.test' }] }, Readable.from([MESSAGE]));
  const held = { ...toHold, heldAt: new Date().toISOString() };
  await changeClaimed(spool, held);
  return { dir, config, spool, deferred, bounce, held };
}

const queue = (config: string, ...args: string[]) => runCli(['queue', ...args, '-c', config]);

for (const store of QUEUE_STORES) {
  t.test(`queue.store ${store}: list: one line per message with age, state, attempts, sender, recipients, last error`, async (t) => {
    const q = await queuedSpool(t, store);
    // read-only: all at once
    const [{ code, stdout, stderr }, partner, none] = await Promise.all([
      queue(q.config, 'list'),
      queue(q.config, 'list', '--domain', 'PARTNER.test'),
      queue(q.config, 'list', '--domain', 'other.test'),
    ]);
    t.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    t.equal(lines.length, 3, 'three messages, three lines');
    t.match(lines.find((line) => line.startsWith(q.deferred.id)), /^\S+ {2}\d+s {2}deferred {2}2 attempts {2}<alice@a\.test> -> bob@partner\.test {2}last error: 451 4\.7\.5 Server certificate not verified/);
    t.match(lines.find((line) => line.startsWith(q.bounce.id)), /due {2}0 attempts {2}<> -> dave@other\.test$/);
    t.match(lines.find((line) => line.startsWith(q.held.id)), /held {2}0 attempts {2}<erin@a\.test> -> frank@partner\.test$/);

    t.same(
      partner.stdout.trimEnd().split('\n').map((line) => line.split(' ')[0]),
      [q.deferred.id, q.held.id].sort(),
      '--domain: the messages still waiting for that domain',
    );
    t.match(none.stdout, q.bounce.id);
    t.notMatch(none.stdout, q.deferred.id, 'carol@other.test was delivered: the message no longer waits for other.test');
  });

  t.test(`queue.store ${store}: list --json: one JSON document on stdout and nothing else`, async (t) => {
    const q = await queuedSpool(t, store);
    const [{ code, stdout, stderr }, empty] = await Promise.all([queue(q.config, 'list', '--json'), queue(q.config, 'list', '--json', '--domain', 'nowhere.test')]);
    t.equal(code, 0, stderr);
    const { messages } = JSON.parse(stdout) as { messages: Array<Record<string, unknown>> };
    t.equal(messages.length, 3);
    t.match(messages.find((m) => m.id === q.deferred.id), {
      from: 'alice@a.test',
      state: 'deferred',
      attempts: 2,
      nextAttemptAt: q.deferred.nextAttemptAt,
      lastError: deferral.response,
      recipients: [
        { address: 'bob@partner.test', state: 'pending', lastError: deferral.response },
        { address: 'carol@other.test', state: 'delivered' },
      ],
    });
    t.match(messages.find((m) => m.id === q.held.id), { state: 'held', heldAt: q.held.heldAt, lastError: null });
    t.match(messages.find((m) => m.id === q.bounce.id), { from: '', state: 'due' });
    t.same(JSON.parse(empty.stdout), { messages: [] }, 'an empty answer is still one document');
  });

  t.test(`queue.store ${store}: show: the envelope, every attempt with its TLS facts and verdict, each recipient with its last error`, async (t) => {
    const q = await queuedSpool(t, store);
    const [{ code, stdout }, held, json] = await Promise.all([
      queue(q.config, 'show', q.deferred.id),
      queue(q.config, 'show', q.held.id),
      queue(q.config, 'show', '--json', q.deferred.id),
    ]);
    t.equal(code, 0);
    t.match(stdout, `queue ID    ${q.deferred.id}\n`);
    t.match(stdout, 'from        <alice@a.test>\n');
    t.match(stdout, `size        ${MESSAGE.length} bytes\n`);
    t.match(stdout, /state {7}deferred, next attempt \S+ \(in (59|60)m\)\n/);
    t.match(stdout, `  bob@partner.test  pending  last error: ${deferral.response}\n`);
    t.match(stdout, '  carol@other.test  delivered\n');
    t.match(stdout, 'attempts    2\n');
    t.match(
      stdout,
      `  ${deferral.at}  partner.test  connector partner (verify)  host mx.partner.test[127.0.0.1]:2626  TLSv1.3 TLS_AES_256_GCM_SHA384  certificate untrusted  deferred  ${deferral.response}\n`,
    );
    t.match(stdout, `other.test  connector default (opportunistic)  host mx.other.test[127.0.0.1]:25  no TLS  certificate none  delivered  250 2.0.0 Ok: queued as 4711`);

    t.match(held.stdout, /state {7}held since \S+ \(\d+s ago\)/);

    t.equal(json.code, 0);
    t.same(JSON.parse(json.stdout), { ...q.deferred, state: 'deferred' }, 'the whole envelope and its state');
  });

  t.test(`queue.store ${store}: an unknown ID exits 1, a malformed one 64; neither writes to stdout`, async (t) => {
    const q = await queuedSpool(t, store);
    const actions = ['show', 'hold', 'release', 'delete', 'retry'];
    const answers = await Promise.all(actions.map((action) => Promise.all([queue(q.config, action, '0123456789abcdef01234567'), queue(q.config, action, 'no-such-id')])));
    for (const [index, [unknown, malformed]] of answers.entries()) {
      t.equal(unknown.code, 1, `${actions[index]} of an unknown ID`);
      t.match(unknown.stderr, 'no message 0123456789abcdef01234567 in the queue');
      t.equal(unknown.stdout, '');
      t.equal(malformed.code, 64, `${actions[index]} of a malformed ID`);
      t.match(malformed.stderr, '"no-such-id" is not a queue ID');
      t.equal(malformed.stdout, '');
    }
  });

  t.test(`queue.store ${store}: hold and release; retry makes a message due now, but not a held one`, async (t) => {
    const q = await queuedSpool(t, store);
    const state = async (id: string) => (JSON.parse((await queue(q.config, 'show', '--json', id)).stdout) as Envelope & { state: string });

    const hold = await queue(q.config, 'hold', q.deferred.id);
    t.same([hold.code, hold.stdout], [0, `${q.deferred.id} held: it is not delivered until released\n`]);
    t.match(await state(q.deferred.id), { state: 'held', nextAttemptAt: q.deferred.nextAttemptAt, attempts: q.deferred.attempts });
    const again = await queue(q.config, 'hold', q.deferred.id);
    t.same([again.code, again.stdout.startsWith(`${q.deferred.id} is already held`)], [0, true], 'holding twice is harmless');

    const retryHeld = await queue(q.config, 'retry', q.deferred.id);
    t.same([retryHeld.code, retryHeld.stderr], [1, `${q.deferred.id} is held: release it to deliver it\n`]);
    t.equal((await state(q.deferred.id)).state, 'held', 'retry did not release it');

    const release = await queue(q.config, 'release', q.deferred.id);
    t.same([release.code, release.stdout], [0, `${q.deferred.id} released: next attempt ${q.deferred.nextAttemptAt}\n`], 'back on its schedule');
    const released = await state(q.deferred.id);
    t.equal(released.state, 'deferred');
    t.notOk('heldAt' in released);
    t.same((await queue(q.config, 'release', q.deferred.id)).stdout, `${q.deferred.id} is not held\n`);

    const before = Date.now();
    const retry = await queue(q.config, 'retry', q.deferred.id);
    t.same([retry.code, retry.stdout], [0, `${q.deferred.id} will be attempted now\n`]);
    const retried = await state(q.deferred.id);
    t.equal(retried.state, 'due');
    t.ok(Date.parse(retried.nextAttemptAt) >= before - 1000 && Date.parse(retried.nextAttemptAt) <= Date.now(), 'next attempt: now');
    t.same(retried.recipients, q.deferred.recipients, 'nothing else changed');
    t.equal(retried.deferrals, 1, 'the retry schedule goes on where it was');

    const all = await queue(q.config, 'retry', '--all');
    t.equal(all.code, 0, 'in bulk, a held message is not an error');
    t.match(all.stdout, `${q.held.id} is held: release it to deliver it\n`);
    t.match(all.stdout, `${q.bounce.id} will be attempted now\n`);
    const byDomain = await queue(q.config, 'retry', '--domain', 'nowhere.test');
    t.same([byDomain.code, byDomain.stdout], [0, 'no message to retry\n']);
  });

  t.test(`queue.store ${store}: delete bounces to the sender for the recipients still pending; --silent and the null sender do not`, async (t) => {
    const q = await queuedSpool(t, store);
    const deleted = await queue(q.config, 'delete', q.deferred.id);
    t.equal(deleted.code, 0, deleted.stderr);
    const bounceId = /bounce (\S+) queued to <alice@a\.test>/.exec(deleted.stdout)?.[1];
    t.ok(bounceId, `the answer names the bounce: ${deleted.stdout}`);
    t.equal((await queue(q.config, 'show', q.deferred.id)).code, 1, 'the message is gone');
    const bounce = (await q.spool.read(bounceId!))!;
    t.match(bounce, { from: '', recipients: [{ address: 'alice@a.test', domain: 'a.test', state: 'pending' }] }, 'a DSN from the null sender to the sender');
    const dsn = (await bytesOf(q.spool.openData(bounceId!))).toString('utf8');
    t.match(dsn, `<bob@partner.test>: deleted from the queue by the administrator; the last delivery error was: ${deferral.response}`);
    t.match(dsn, 'Final-Recipient: rfc822; bob@partner.test');
    t.notMatch(dsn, 'Final-Recipient: rfc822; carol@other.test', 'carol got the message: she is not reported');
    t.match(dsn, 'Subject: quarterly report', 'the headers of the deleted message are returned');

    const silent = await queue(q.config, 'delete', '--silent', q.held.id);
    t.same([silent.code, silent.stdout], [0, `${q.held.id} deleted; no bounce: --silent\n`]);
    const nullSender = await queue(q.config, 'delete', q.bounce.id);
    t.same([nullSender.code, nullSender.stdout], [0, `${q.bounce.id} deleted; no bounce: it is itself a bounce (null sender)\n`]);
    t.same((await q.spool.list()).map((envelope) => envelope.id), [bounceId], 'only the first bounce is left');
  });

  t.test(`queue.store ${store}: a change waits while a delivery in progress holds the message; retry does not need to`, async (t) => {
    const q = await queuedSpool(t, store);
    // The test process plays the relay in the middle of delivering the message.
    const delivering = await q.spool.claim(q.deferred.id);
    if (delivering.kind !== 'claimed') throw new Error('claimed already');

    const retry = await queue(q.config, 'retry', q.deferred.id);
    t.same([retry.code, retry.stdout], [0, `${q.deferred.id} is being delivered right now\n`], 'the attempt asked for is under way');

    // Another command holding the claim of an ID that names no message: retry says there is none.
    const unknownId = '0123456789abcdef01234567';
    const other = await q.spool.claim(unknownId);
    if (other.kind !== 'claimed') throw new Error('claimed already');
    for (const command of ['retry', 'hold', 'release', 'delete']) {
      // at once, not after the 30 s a change waits for a delivery: there is no delivery to wait for
      const unknown = await queue(q.config, command, unknownId);
      t.same([unknown.code, unknown.stdout, unknown.stderr], [1, '', `no message ${unknownId} in the queue\n`], `${command}: an unknown ID under a claim is still unknown, without waiting`);
    }
    await other.claim.release();

    const hold = spawn(process.execPath, [MAIN, 'queue', 'hold', q.deferred.id, '-c', q.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    hold.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = once(hold, 'exit');
    const [waiting] = (await once(hold.stderr, 'data')) as [Buffer];
    t.match(waiting.toString(), `${q.deferred.id} is claimed by pid ${process.pid} on ${hostname()}`);
    t.match(waiting.toString(), 'waiting for it');
    t.equal((JSON.parse((await queue(q.config, 'show', '--json', q.deferred.id)).stdout) as Envelope).heldAt, undefined, 'not held while the delivery runs');
    await delivering.claim.release();
    const [code] = (await exited) as [number];
    t.equal(code, 0);
    t.equal(stdout, `${q.deferred.id} held: it is not delivered until released\n`, 'held once the delivery was over');
  });
}

t.test('the way back to the file spool (README, Queue): with queue.store files, one queue command moves the LMDB store into env/ and data/', async (t) => {
  const q = await queuedSpool(t, 'lmdb');
  await q.spool.close();
  const filesConfig = writeConfig(q.dir, (await readFile(q.config, 'utf8')).replace('store: lmdb', 'store: files').replace('level: warn', 'level: info'));
  const { code, stdout, stderr } = await queue(filesConfig, 'list');
  t.equal(code, 0, stderr);
  t.equal(stdout.trimEnd().split('\n').length, 3, 'the three messages are listed');
  t.match(JSON.parse(stderr.trim()), { msg: 'queue messages moved from the other store', moved: 3, busy: 0, from: 'lmdb', to: 'files' }, 'and said to be moved, on stderr');
  t.same((await readdir(join(q.dir, 'spool', 'env'))).sort(), [q.deferred.id, q.bounce.id, q.held.id].map((id) => `${id}.json`).sort(), 'one envelope file each, for an older version to read');
  t.same((await storeContents('lmdb', join(q.dir, 'spool'))).queued, [], 'nothing is left in the LMDB store');
});
