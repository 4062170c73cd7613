// A full spool: the client gets 452 4.3.1, the relay keeps running, nothing half-written
// is delivered, and it takes mail again as soon as there is room. For each store.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startSink } from '../helpers/peers.js';
import { QUEUE_STORES } from '../helpers/queueStores.js';
import { relayCommand, startRelayCommand, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

// Root ignores permissions, so the only honest fault is a real full disk: a tiny tmpfs
// mounted over the spool in a private mount namespace.
const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

// What each store says of the write that did not fit: the file spool the errno; LMDB a
// failed commit (it reports a full disk as a short write) with the space left.
const writeFailure = { files: /ENOSPC/, lmdb: /^the queue store could not commit: .*; \d+ bytes are free on its disk$/ } as const;

for (const store of QUEUE_STORES) t.test(`queue.store ${store}: disk full: 452 4.3.1, then recovery`, { skip: canMount ? false : 'needs root and unshare -m to mount a small tmpfs' }, async (t) => {
  const dir = t.testdir();
  const spool = join(dir, 'spool');
  mkdirSync(spool);
  const sink = await startSink({ tls: 'starttls' });
  const config = writeConfig(
    dir,
    `listeners: [{ name: smtp, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, store: ${store}, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
  - { name: partner, domains: [partner.test], smartHosts: ["127.0.0.1:${sink.port}"] }
`,
  );
  const [node, ...args] = relayCommand(config);
  const quoted = [node!, ...args].map((word) => `'${word}'`).join(' ');
  const relay = startRelayCommand(['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o size=256k tmpfs '${spool}' && exec ${quoted}`]);
  t.teardown(async () => {
    await relay.stop();
    await sink.close();
  });
  const port = await relay.port();

  const big = sampleMessage('too big for the disk', `${'x'.repeat(998)}\r\n`.repeat(1000));
  const refused = await submit({ port, from: 'a@client.test', to: ['user@partner.test'], data: big });
  t.match(refused, { ok: false, code: 452, response: /^452 4\.3\.1 Insufficient system storage/ }, 'the client is told to try later');
  // the log line is written before the reply, but reaches this process through another pipe
  const logged = await relay.waitForLog((line) => line.msg === 'cannot write message to the spool', 'the write failure log line');
  t.match(logged, { level: 50, err: writeFailure[store] }, 'the write failure is logged with its cause');

  const small = await submit({ port, from: 'a@client.test', to: ['user@partner.test'], data: sampleMessage('fits') });
  t.match(small, { ok: true }, 'the relay kept running and takes mail again');
  await relay.waitForLog((line) => line.msg === 'delivery attempt' && line.outcome === 'delivered', 'delivery');
  t.same(sink.received.map((m) => /Subject: (.*)\r\n/.exec(m.data)?.[1]), ['fits'], 'only the complete message was delivered');
});
