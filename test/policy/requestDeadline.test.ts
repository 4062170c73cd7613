// The deadline arithmetic of one request (Postfix's smtpd_per_request_deadline and
// smtpd_min_data_rate), read by read.
import t from 'tap';
import { afterRead, deadlineReply, NOTHING_PENDING, type ClientRead, type PendingRequest } from '../../src/policy/requestDeadline.js';

const limits = { timeoutMs: 10_000, minDataRate: 500 };
const read = (fields: Partial<ClientRead>): ClientRead => ({ waitedMs: 0, owing: 'none', completedLine: false, dataBytes: 0, ...fields });

t.test('command lines', async (t) => {
  const begun = afterRead(NOTHING_PENDING, read({ waitedMs: 60_000, owing: 'command' }), limits);
  t.strictSame(begun, { kind: 'command', remainingMs: 10_000 }, 'a line that begins has the whole timeout, however long the session was idle before it');
  const dripped = [1_000, 1_000, 1_000].reduce<PendingRequest>((pending, waitedMs) => afterRead(pending, read({ waitedMs, owing: 'command' }), limits), begun);
  t.strictSame(dripped, { kind: 'command', remainingMs: 7_000 }, 'each further byte of the same line is charged its wait, and earns nothing');
  t.strictSame(afterRead(dripped, read({ waitedMs: 1_000, owing: 'command', completedLine: true }), limits), { kind: 'command', remainingMs: 10_000 }, 'the next line, begun in the read that ended this one, starts afresh');
  t.strictSame(afterRead(dripped, read({ waitedMs: 1_000 }), limits), NOTHING_PENDING, 'a completed line with nothing behind it leaves nothing owing');
  t.strictSame(afterRead(dripped, read({ waitedMs: 8_000, owing: 'command' }), limits), { kind: 'command', remainingMs: -1_000 }, 'a wait past the deadline leaves it overdue');
});

t.test('message data', async (t) => {
  const begun = afterRead(NOTHING_PENDING, read({ owing: 'data', completedLine: true, dataBytes: 1_000_000 }), limits);
  t.strictSame(begun, { kind: 'data', remainingMs: 10_000 }, 'the data begin with the whole timeout, and a fast start buys no more');
  t.strictSame(afterRead(begun, read({ waitedMs: 2_000, owing: 'data', dataBytes: 500 }), limits), { kind: 'data', remainingMs: 9_000 }, 'a read is charged its wait and credited bytes / minDataRate');
  t.strictSame(afterRead(begun, read({ waitedMs: 2_000, owing: 'data', dataBytes: 1_000 }), limits), { kind: 'data', remainingMs: 10_000 }, 'at exactly the minimum rate nothing is lost');
  t.strictSame(afterRead(begun, read({ waitedMs: 100, owing: 'data', dataBytes: 64_000 }), limits), { kind: 'data', remainingMs: 10_000 }, 'never more than the whole timeout left');
  const trickled = Array.from({ length: 10 }).reduce<PendingRequest>((pending) => afterRead(pending, read({ waitedMs: 1_000, owing: 'data', dataBytes: 1 }), limits), begun);
  t.strictSame(trickled, { kind: 'data', remainingMs: 20 }, 'a byte a second earns 2 ms a second: the deadline passes');
  t.strictSame(afterRead(trickled, read({ waitedMs: 10, owing: 'command' }), limits), { kind: 'command', remainingMs: 10_000 }, 'a command line after the final dot is a new request');
  t.strictSame(afterRead(begun, read({ owing: 'data', completedLine: true }), limits), { kind: 'data', remainingMs: 10_000 }, 'the data of a next message, begun in the same read, start afresh');
});

t.test("the reply is Postfix's", async (t) => {
  t.strictSame(deadlineReply('relay.contoso.test'), { code: 421, message: '4.4.2 relay.contoso.test Error: timeout exceeded' });
});
