// The queue section's data from a queue listing: counts by state, the oldest message's
// age, the deferred messages oldest first with the reply of their last failed attempt.
import t from 'tap';
import { DEFERRED_SHOWN, queueView } from '../../../src/admin/dashboard/queueView.js';
import type { AttemptRecord, Envelope } from '../../../src/queue/types.js';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const MINUTE = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

function attempt(outcome: AttemptRecord['outcome'], response: string): AttemptRecord {
  return { at: iso(NOW - MINUTE), domain: 'partner.test', connector: 'partner', tlsLevel: 'verify', host: 'mx.partner.test', tls: null, verdict: 'none', outcome, code: Number(response.slice(0, 3)), response };
}

function envelope(id: string, fields: Partial<Envelope> & { ageMinutes: number }): Envelope {
  const { ageMinutes, ...rest } = fields;
  return {
    id,
    receivedAt: iso(NOW - ageMinutes * MINUTE),
    from: 'sender@client.test',
    recipients: [
      { address: 'a@partner.test', domain: 'partner.test', state: 'pending' },
      { address: 'b@other.test', domain: 'other.test', state: 'delivered' },
    ],
    size: 100,
    nextAttemptAt: iso(NOW + 5 * MINUTE),
    attempts: [],
    ...rest,
  };
}

t.test('an empty queue', async (t) => {
  t.same(queueView([], NOW), { total: 0, byState: { due: 0, deferred: 0, held: 0 }, oldestAgeSeconds: null, deferred: [], deferredNotShown: 0 });
});

t.test('counts by state, the oldest message, and the deferred ones with their last reply', async (t) => {
  const view = queueView(
    [
      envelope('due1', { ageMinutes: 1, nextAttemptAt: iso(NOW) }),
      envelope('held1', { ageMinutes: 90, heldAt: iso(NOW - MINUTE) }),
      envelope('late', { ageMinutes: 5, attempts: [attempt('deferred', '451 4.4.1 first'), attempt('deferred', '450 4.7.5 Server certificate not verified for host mx.partner.test')] }),
      envelope('early', { ageMinutes: 30, from: '', attempts: [attempt('deferred', '421 4.4.2 gone'), attempt('delivered', '250 2.0.0 Ok')] }),
      envelope('fresh', { ageMinutes: 2 }),
    ],
    NOW,
  );
  t.same(view.byState, { due: 1, deferred: 3, held: 1 });
  t.equal(view.total, 5);
  t.equal(view.oldestAgeSeconds, 90 * 60, 'the held message is the oldest');
  t.same(
    view.deferred.map((message) => [message.id, message.ageSeconds, message.attempts, message.lastReply]),
    [
      ['early', 30 * 60, 2, '421 4.4.2 gone'],
      ['late', 5 * 60, 2, '450 4.7.5 Server certificate not verified for host mx.partner.test'],
      ['fresh', 2 * 60, 0, null],
    ],
    'oldest first; the last reply is that of the last attempt that did not deliver (a delivery to another domain does not hide it)',
  );
  t.same(view.deferred[0]!.pending, ['a@partner.test'], 'only the recipients still waiting');
  t.equal(view.deferred[0]!.from, '', 'the null sender');
  t.equal(view.deferredNotShown, 0);
});

t.test('beyond DEFERRED_SHOWN the deferred messages are counted, the oldest listed', async (t) => {
  const envelopes = Array.from({ length: DEFERRED_SHOWN + 3 }, (_, index) => envelope(`m${index}`, { ageMinutes: index }));
  const view = queueView(envelopes, NOW);
  t.equal(view.deferred.length, DEFERRED_SHOWN);
  t.equal(view.deferredNotShown, 3);
  t.equal(view.deferred[0]!.id, `m${DEFERRED_SHOWN + 2}`, 'the oldest first');
  t.equal(view.oldestAgeSeconds, (DEFERRED_SHOWN + 2) * 60);
});
