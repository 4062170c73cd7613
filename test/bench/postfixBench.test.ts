// The Postfix comparison of `npm run bench:postfix`, as a smoke test: a small load through
// each MTA must arrive whole at smtp-sink (whose exit after -M 20 messages is the proof).
// No figure is judged here; the bench is for that.
import { tmpdir } from 'node:os';
import t from 'tap';
import { needsPostfix } from '../helpers/postfix.js';
import { runOnce, type Load } from './postfixComparison.js';

const LOAD: Load = { messages: 20, sessions: 2, bytes: 1024, connectionPerMessage: false };
const OPTIONS = { spoolParent: tmpdir(), timeoutMs: 120_000 };

t.test('20 messages from smtp-source reach smtp-sink through each MTA', needsPostfix(), async (t) => {
  for (const target of ['tlsrelay', 'postfix'] as const) await t.resolves(runOnce(target, LOAD, OPTIONS), `${target}: smtp-sink took all 20`);
  await t.resolves(runOnce('tlsrelay', { ...LOAD, connectionPerMessage: true }, OPTIONS), 'tlsrelay, a connection per message: smtp-sink took all 20');
});
