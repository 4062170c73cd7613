// Damaged spool entries — a crash mid-write, a truncated file, garbage — go to quarantine/
// with a log line, at start and while the relay runs; the relay keeps running and delivers
// everything else. The file spool's files are what is damaged here (queue.store: files);
// the LMDB store's quarantine is tested in test/queue/lmdbQueue.test.ts.
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { tryLock } from '../../src/queue/messageLock.js';
import { startSink } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startRelay, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

function relayConfig(dir: string, nextHopPort: number): string {
  return writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, store: files, retry: [1s] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${nextHopPort}"], tls: opportunistic }
`,
  );
}

async function send(t: Test, port: number, subject: string): Promise<string> {
  const result = await submit({ port, from: 'a@client.test', to: ['bob@partner.test'], data: sampleMessage(subject) });
  if (!result.ok) throw new Error(`"${subject}" was refused: ${result.response}`);
  t.pass(`"${subject}" accepted`);
  return /queued as (\S+)/.exec(result.response)![1]!;
}

/** Runs `damage` holding the message's lock, as the relay does for every change. */
async function whileLocked(spool: string, id: string, damage: () => Promise<void>): Promise<void> {
  for (;;) {
    const attempt = await tryLock(join(spool, 'lock', `${id}.lock`), join(spool, 'tmp'));
    if (attempt.kind === 'claimed') {
      await damage();
      await attempt.claim.release();
      return;
    }
    await sleep(20);
  }
}

function quarantined(relay: RelayProcess, id: string, file: RegExp) {
  return relay.waitForLog(
    (line) => line.msg === 'damaged spool entry moved to quarantine' && line.queueId === id && file.test(String(line.file)),
    `quarantine of ${id}`,
  );
}

const delivered = (relay: RelayProcess, id: string) =>
  relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === 'delivered', `delivery of ${id}`);

t.test('while running: an envelope turned to garbage, a truncated message file, a bad envelope announced', async (t) => {
  const nextHopPort = await freePort();
  const dir = t.testdir();
  const spool = join(dir, 'spool');
  const relay = startRelay(relayConfig(dir, nextHopPort));
  t.teardown(() => relay.stop());
  const port = await relay.port();

  const garbled = await send(t, port, 'garbled envelope');
  const truncated = await send(t, port, 'truncated data');
  const sound = await send(t, port, 'sound');
  for (const id of [garbled, truncated, sound]) {
    await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id && line.outcome === 'deferred', `deferral of ${id}`);
  }
  // Under the message lock, so that no attempt in flight writes a sound envelope back over the damage.
  await whileLocked(spool, garbled, () => writeFile(join(spool, 'env', `${garbled}.json`), '\u0000\u0000{"id":'));
  await whileLocked(spool, truncated, () => truncate(join(spool, 'data', truncated), 10));
  const sink = await startSink({ tls: 'starttls', port: nextHopPort });
  t.teardown(() => sink.close());

  // At their next attempt (retry: 1s) the relay reads them afresh and finds them damaged.
  const [garbledLine, truncatedLine] = await Promise.all([
    quarantined(relay, garbled, /\.json$/),
    quarantined(relay, truncated, /\.json$/),
    quarantined(relay, truncated, /data/),
    delivered(relay, sound),
  ]);
  t.match(garbledLine, { level: 40, reason: /^damaged envelope: not JSON/ }, 'a warning that names the problem');
  t.match(truncatedLine, { reason: /^message file has 10 bytes, the envelope says \d+/ });
  t.same(
    sink.received.map((m) => /Subject: (.*)\r\n/.exec(m.data)?.[1]),
    ['sound'],
    'the sound message was delivered, the truncated one was not sent cut off',
  );

  // Damage in a message that is not due is found when another process announces a change.
  const stray = '0190c2d9e3a1b2c3d4e5f6a7';
  await writeFile(join(spool, 'env', `${stray}.json`), 'garbage');
  await writeFile(join(spool, 'control', 'changed'), 'test');
  await quarantined(relay, stray, /\.json$/);

  t.same(
    (await readdir(join(spool, 'quarantine'))).sort(),
    [`${garbled}.eml`, `${garbled}.json`, `${truncated}.eml`, `${truncated}.json`, `${stray}.json`].sort(),
    'envelopes and message files kept in quarantine/ for the operator',
  );
  t.equal(await readFile(join(spool, 'quarantine', `${garbled}.json`), 'utf8'), '\u0000\u0000{"id":', 'as they were found');
  t.equal(relay.child.exitCode, null, 'the relay is still running');
  const after = await send(t, port, 'after');
  await delivered(relay, after);
});

t.test('at start: an envelope cut short by a crash, a message file of the wrong size, an envelope without its file', async (t) => {
  const nextHopPort = await freePort();
  const dir = t.testdir();
  const spool = join(dir, 'spool');
  const config = relayConfig(dir, nextHopPort);
  const first = startRelay(config);
  const port = await first.port();
  const ids: string[] = [];
  for (const subject of ['cut short', 'wrong size', 'no data', 'sound']) ids.push(await send(t, port, subject));
  const [cutShort, wrongSize, noData, sound] = ids as [string, string, string, string];
  for (const id of ids) await first.waitForLog((line) => line.msg === 'delivery attempt' && line.queueId === id, `attempt of ${id}`);
  t.equal(await first.stop(), 0);

  const envelope = await readFile(join(spool, 'env', `${cutShort}.json`), 'utf8');
  await writeFile(join(spool, 'env', `${cutShort}.json`), envelope.slice(0, envelope.length / 2));
  await writeFile(join(spool, 'data', wrongSize), 'garbage');
  await rm(join(spool, 'data', noData));

  const sink = await startSink({ tls: 'starttls', port: nextHopPort });
  t.teardown(() => sink.close());
  const second = startRelay(config);
  t.teardown(() => second.stop());
  const lines = await Promise.all([quarantined(second, cutShort, /\.json$/), quarantined(second, wrongSize, /\.json$/), quarantined(second, noData, /\.json$/)]);
  t.match(lines, [{ reason: /^damaged envelope: not JSON/ }, { reason: /^message file has 7 bytes/ }, { reason: /^message file unusable: ENOENT/ }]);
  await delivered(second, sound);
  t.same(sink.received.map((m) => /Subject: (.*)\r\n/.exec(m.data)?.[1]), ['sound'], 'everything else is delivered');
});
