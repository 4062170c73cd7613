// `npm run bench:postfix`: tlsrelay side by side with Postfix on this machine (issue 12,
// "How it is measured"): smtp-source → MTA → smtp-sink, the same load through each, in
// interleaved rounds (the order alternates, so neither always runs on a warmer machine),
// then the medians, their spread and the ratio tlsrelay/postfix.
//
//   npm run bench:postfix -- [--runs 3] [--messages 2000] [--size 10] [--sessions 20] [--connection-per-message] [--spool DIR] [--timeout 600]
//
// --size is in KB of payload (1, 10, 100), --sessions smtp-source's parallel sessions (1,
// 20, 50); every session sends its messages over one connection unless
// --connection-per-message. Both MTAs fsync their spool as they do by default, on the disk
// of --spool DIR (the system temp dir by default). Postfix runs with its defaults (a
// private instance, test/helpers/postfix.ts: loopback, its own queue, relayhost the sink).
// A run that has not ended after --timeout seconds fails the bench, which then stops what
// it started. Needs the postfix package (smtp-source, smtp-sink, postfix) and root, as
// Postfix does.
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { needsPostfix } from '../helpers/postfix.js';
import { runOnce, type Load, type RunResult, type Target } from './postfixComparison.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    messages: { type: 'string', default: '2000' },
    size: { type: 'string', default: '10' },
    sessions: { type: 'string', default: '20' },
    'connection-per-message': { type: 'boolean', default: false },
    spool: { type: 'string' },
    timeout: { type: 'string', default: '600' },
  },
});

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a whole number above 0, not ${JSON.stringify(text)}`);
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const rate = (result: RunResult, load: Load): number => load.messages / result.deliveredSeconds;

function describe(round: number, result: RunResult, load: Load): string {
  return `round ${round} ${result.target.padEnd(8)} ${Math.round(rate(result, load))} msg/s delivered (${load.messages} in ${result.deliveredSeconds.toFixed(2)} s), ${Math.round(load.messages / result.acceptedSeconds)} msg/s accepted, ${result.cpuMsPerMessage.toFixed(2)} ms CPU per message`;
}

function summary(target: Target, results: RunResult[], load: Load): { median: number; min: number; max: number; cpuMsPerMessage: number } {
  const rates = results.filter((result) => result.target === target).map((result) => rate(result, load));
  return {
    median: Math.round(median(rates)),
    min: Math.round(Math.min(...rates)),
    max: Math.round(Math.max(...rates)),
    cpuMsPerMessage: Number(median(results.filter((result) => result.target === target).map((result) => result.cpuMsPerMessage)).toFixed(2)),
  };
}

try {
  const skip = needsPostfix().skip;
  if (skip !== undefined) throw new Error(skip);
  const runs = positive('runs', values.runs);
  const load: Load = {
    messages: positive('messages', values.messages),
    sessions: positive('sessions', values.sessions),
    bytes: positive('size', values.size) * 1024,
    connectionPerMessage: values['connection-per-message'],
  };
  const options = { spoolParent: resolve(values.spool ?? tmpdir()), timeoutMs: positive('timeout', values.timeout) * 1000 };
  console.log(`${load.messages} messages of ${load.bytes / 1024} KB, ${load.sessions} sessions${load.connectionPerMessage ? ', a connection per message' : ''}, ${runs} interleaved rounds; spools under ${options.spoolParent}`);
  const results: RunResult[] = [];
  for (let round = 1; round <= runs; round++) {
    const order: Target[] = round % 2 === 1 ? ['tlsrelay', 'postfix'] : ['postfix', 'tlsrelay'];
    for (const target of order) {
      const result = await runOnce(target, load, options);
      results.push(result);
      console.log(describe(round, result, load));
    }
  }
  const relay = summary('tlsrelay', results, load);
  const postfix = summary('postfix', results, load);
  const spread = (s: ReturnType<typeof summary>): string => `${s.min}–${s.max}, ±${Math.round(((s.max - s.min) / 2 / s.median) * 100)} %`;
  console.log(`tlsrelay ${relay.median} msg/s (median of ${runs}; ${spread(relay)}), ${relay.cpuMsPerMessage} ms CPU per message`);
  console.log(`postfix  ${postfix.median} msg/s (median of ${runs}; ${spread(postfix)}), ${postfix.cpuMsPerMessage} ms CPU per message`);
  console.log(`ratio tlsrelay/postfix ${(relay.median / postfix.median).toFixed(2)}×`);
  console.log(JSON.stringify({ load, runs, tlsrelay: relay, postfix, ratio: Number((relay.median / postfix.median).toFixed(2)) }));
} catch (err) {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
