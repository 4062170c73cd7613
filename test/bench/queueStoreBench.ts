// `npm run bench:queue`: the queue stores side by side, without SMTP — what a message costs
// the store itself. For each store, --rounds times (default 3), interleaved (files, lmdb,
// files, lmdb, …) in a fresh folder under --dir (default the system's temp folder: put it
// on the disk you want to measure):
//   store    --messages messages (default 2,000) of --size KB (default 10), by --writers
//            concurrent writers (default 20), each store() resolved only once durable;
//   deliver  the same messages through what a delivery does, by as many workers: claim,
//            check, update (an attempt recorded), remove, release.
// It prints messages per second for each phase and round, and per store the median with
// the spread (min–max). A bench is not a test: it prints, and removes its folders.
//
//   npm run bench:queue -- --messages 2000 --size 10 --writers 20 --rounds 3 [--stores lmdb,files] [--dir DIR] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { QUEUE_STORES, type QueueStore } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import type { MessageQueue } from '../../src/queue/messageQueue.js';
import { openStore } from '../../src/queue/openQueue.js';
import type { AttemptRecord, Envelope, NewMessage } from '../../src/queue/types.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    size: { type: 'string', default: '10' },
    writers: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
    stores: { type: 'string', default: QUEUE_STORES.join(',') },
    json: { type: 'boolean', default: false },
  },
});
const messages = Number(values.messages);
const writers = Number(values.writers);
const rounds = Number(values.rounds);
const body = Buffer.concat([Buffer.from('Subject: bench\r\n\r\n'), Buffer.alloc(Number(values.size) * 1024 - 18, 'x')]);
const message: NewMessage = { from: 'sender@client.test', recipients: [{ address: 'rcpt@partner.test', domain: 'partner.test' }] };
const attempt: AttemptRecord = {
  at: new Date().toISOString(),
  domain: 'partner.test',
  connector: 'partner',
  tlsLevel: 'opportunistic',
  host: 'mx.partner.test[127.0.0.1]:25',
  tls: null,
  verdict: 'none',
  outcome: 'delivered',
  code: 250,
  response: '250 2.0.0 Ok',
};

/** Runs `work` on items 0…count-1 with `concurrency` workers; resolves to messages per second. */
async function rate(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

async function deliver(queue: MessageQueue, envelope: Envelope): Promise<void> {
  const claimed = await queue.claim(envelope.id);
  if (claimed.kind !== 'claimed') throw new Error(`${envelope.id} is busy`);
  const checked = await queue.check(envelope.id);
  if (checked.kind !== 'found') throw new Error(`${envelope.id}: ${checked.kind}`);
  await queue.update({ ...checked.envelope, attempts: [attempt], recipients: checked.envelope.recipients.map((r) => ({ ...r, state: 'delivered' })) }, claimed.claim);
  await queue.remove(envelope.id, claimed.claim);
  await claimed.claim.release();
}

async function round(store: QueueStore): Promise<{ store: number; deliver: number }> {
  const dir = mkdtempSync(join(values.dir, `tlsrelay-bench-${store}-`));
  const queue = await openStore(store, dir, createLogger('silent'));
  try {
    const stored: Envelope[] = [];
    const storeRate = await rate(messages, writers, async () => void stored.push(await queue.store(message, Readable.from([body]))));
    const deliverRate = await rate(stored.length, writers, (index) => deliver(queue, stored[index]!));
    if ((await queue.list()).length !== 0) throw new Error(`${store}: messages left after the deliveries`);
    return { store: storeRate, deliver: deliverRate };
  } finally {
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const order = QUEUE_STORES.filter((store) => values.stores.split(',').includes(store)).reverse();
const results = new Map<QueueStore, Array<{ store: number; deliver: number }>>(order.map((store) => [store, []]));
for (let r = 1; r <= rounds; r++) {
  for (const store of order) {
    const result = await round(store);
    results.get(store)!.push(result);
    if (!values.json) console.log(`round ${r} ${store.padEnd(5)}  store ${result.store.toFixed(0).padStart(6)} msg/s  deliver ${result.deliver.toFixed(0).padStart(6)} msg/s`);
  }
}
const summary = order.map((store) => {
  const runs = results.get(store)!;
  const of = (phase: 'store' | 'deliver') => {
    const xs = runs.map((run) => run[phase]);
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  };
  return { store, storeRate: of('store'), deliverRate: of('deliver') };
});
if (values.json) {
  console.log(JSON.stringify({ messages, sizeKb: Number(values.size), writers, rounds, results: summary }));
} else {
  const show = ({ median: m, min, max }: { median: number; min: number; max: number }) => `${m.toFixed(0)} msg/s (${min.toFixed(0)}–${max.toFixed(0)})`;
  console.log(`\n${messages} messages of ${values.size} KB, ${writers} concurrent, median of ${rounds} (spread):`);
  for (const { store, storeRate, deliverRate } of summary) console.log(`${store.padEnd(5)}  store ${show(storeRate)}  claim+update+remove ${show(deliverRate)}`);
}
