import t from 'tap';
import { countQueue, messageState } from '../../src/queue/messageState.js';
import type { Envelope } from '../../src/queue/types.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');

function envelope(id: string, receivedAt: string, nextAttemptAt: string, heldAt?: string): Envelope {
  return {
    id,
    receivedAt,
    from: 'a@contoso.test',
    recipients: [{ address: 'b@fabrikam.test', domain: 'fabrikam.test', state: 'pending' }],
    size: 100,
    nextAttemptAt,
    attempts: [],
    ...(heldAt ? { heldAt } : {}),
  };
}

t.test('each message by its state, and the oldest by when it arrived', async (t) => {
  const due = envelope('a1', '2026-12-01T11:00:00Z', '2026-12-01T12:00:00Z');
  const deferred = envelope('a2', '2026-11-30T08:00:00Z', '2026-12-01T13:00:00Z');
  const held = envelope('a3', '2026-12-01T09:00:00Z', '2026-12-01T11:00:00Z', '2026-12-01T10:00:00Z');
  t.strictSame([due, deferred, held].map((e) => messageState(e, NOW)), ['due', 'deferred', 'held'], 'held wins over due');
  t.strictSame(countQueue([due, deferred, held, envelope('a4', '2026-12-01T11:30:00Z', '2026-12-01T14:00:00Z')], NOW), {
    byState: { due: 1, deferred: 2, held: 1 },
    oldestReceivedAt: Date.parse('2026-11-30T08:00:00Z'),
  });
  t.strictSame(countQueue([], NOW), { byState: { due: 0, deferred: 0, held: 0 }, oldestReceivedAt: undefined }, 'an empty queue');
});
