// The next hop took a message, but the spool will not take the record of it (disk full):
// the recipient that got 250 must not get another copy while the relay waits for room,
// and once there is room the results are written — the delivered recipient stays
// delivered, the deferred one keeps its schedule. It reads the envelope file the relay
// finally writes (queue.store: files).
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { startSink, type Sink } from '../helpers/peers.js';
import { MAIN, relayCommand, startRelayCommand, writeConfig, type RelayProcess } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';
import { runTool } from '../helpers/tools.js';

// Root ignores permissions, so the honest fault is a real full disk: a tiny tmpfs mounted
// over the spool in the relay's private mount namespace. The test reaches into that
// namespace through /proc/PID/root (to fill the disk) and nsenter (to run a queue command).
const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0 && spawnSync('sh', ['-c', 'command -v nsenter']).status === 0;

/** Writes zeros to `file` until the file system is full. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

interface FullSpoolAfterDelivery {
  relay: RelayProcess;
  sink: Sink;
  config: string;
  /** The spool as the relay's mount namespace sees it. */
  spoolInRelay: string;
}

/**
 * A relay whose next hop took a message for one recipient (and deferred the other) at
 * the moment its spool is full: the write-back of those results has failed.
 */
async function resultsUnwritten(t: Test): Promise<FullSpoolAfterDelivery> {
  const dir = t.testdir();
  const spool = join(dir, 'spool');
  mkdirSync(spool);
  let held: (() => void) | undefined;
  let reachedData: (() => void) | undefined;
  const dataReached = new Promise<void>((resolve) => (reachedData = resolve));
  const sink = await startSink({
    tls: 'none',
    rcptReplies: { 'later@partner.test': '451 4.2.0 Mailbox busy, try later' },
    // the first message waits at its 250 until the disk is full; any later one is a copy
    beforeDataReply: () =>
      held === undefined
        ? new Promise<void>((resolve) => {
            held = resolve;
            reachedData!();
          })
        : Promise.resolve(),
  });
  const config = writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0, tls: none }]
queue: { dir: spool, store: files, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${sink.port}"], tls: none }
`,
  );
  const [node, ...args] = relayCommand(config);
  const quoted = [node!, ...args].map((word) => `'${word}'`).join(' ');
  const relay = startRelayCommand(['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o size=256k tmpfs '${spool}' && exec ${quoted}`]);
  t.teardown(async () => {
    held?.();
    // Cleanup, not a check: a failure to stop must still close the sink (a sink left
    // listening kept the file alive until tap's timeout, taking the next test with it),
    // and says what the relay printed.
    try {
      await relay.stop();
    } catch (err) {
      console.error(`stopping the relay failed: ${(err as Error).stack}\nits stderr: ${relay.stderr()}\nits last log lines: ${JSON.stringify(relay.logs.slice(-20))}`);
      relay.child.kill('SIGKILL');
    } finally {
      await sink.close();
    }
  });
  const port = await relay.port();
  const spoolInRelay = `/proc/${relay.child.pid}/root${spool}`;

  const sent = await submit({ port, tls: 'none', from: 'a@client.test', to: ['now@partner.test', 'later@partner.test'], data: sampleMessage('once only') });
  t.match(sent, { ok: true }, 'accepted');
  await dataReached;
  fillDisk(join(spoolInRelay, 'filler'));
  held!();

  const failed = await relay.waitForLog((line) => line.msg?.startsWith('cannot record delivery results') === true, 'the write-back failure');
  t.match(failed, { level: 50, err: /ENOSPC/ }, 'the failure is logged with its cause');
  return { relay, sink, config, spoolInRelay };
}

const skip = { skip: canMount ? false : 'needs root, unshare -m and nsenter to mount a small tmpfs' };

t.test('results the full spool will not take: no second copy, written once there is room', skip, async (t) => {
  const { relay, sink, config, spoolInRelay } = await resultsUnwritten(t);
  rmSync(join(spoolInRelay, 'filler'));
  // an operator's queue command, run where the relay sees its spool, asks for the write now
  const retried = await runTool('nsenter', ['-t', String(relay.child.pid), '-m', process.execPath, MAIN, 'queue', 'retry', '--all', '-c', config]);
  t.equal(retried.code, 0, retried.output);
  await relay.waitForLog((line) => line.msg === 'delivery results recorded after an earlier failure', 'the write-back');

  t.same(
    sink.received.map((message) => message.to),
    [['now@partner.test']],
    'the next hop got the message once: no copy while the results were unwritten, none after',
  );
  const envelopes = readdirSync(join(spoolInRelay, 'env'));
  t.equal(envelopes.length, 1, 'the message is still queued for the deferred recipient');
  const envelope = JSON.parse(readFileSync(join(spoolInRelay, 'env', envelopes[0]!), 'utf8')) as { recipients: Array<{ address: string; state: string; lastError?: string }> };
  t.match(
    envelope.recipients,
    [
      { address: 'now@partner.test', state: 'delivered' },
      { address: 'later@partner.test', state: 'pending', lastError: /^451 4\.2\.0/ },
    ],
    'the written results: delivered stays delivered, the deferral is recorded',
  );
});

t.test('results still unwritten when the relay stops get a last try, and are written if there is room', skip, async (t) => {
  const { relay, sink, spoolInRelay } = await resultsUnwritten(t);
  rmSync(join(spoolInRelay, 'filler'));
  t.equal(await relay.stop(), 0, 'a clean stop');
  t.ok(
    relay.logs.some((line) => line.msg === 'delivery results recorded after an earlier failure'),
    'written on the way out, before the spool is left behind',
  );
  t.notOk(relay.logs.some((line) => line.msg?.startsWith('delivery results still unwritten at shutdown') === true));
  t.equal(sink.received.length, 1);
});
