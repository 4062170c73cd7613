import t from 'tap';
import { markDelivered, recordResults, type RoundOptions } from '../../src/queue/bookkeeping.js';
import type { AttemptRecord, Envelope, RecipientResult } from '../../src/queue/types.js';

const T0 = Date.parse('2025-11-28T10:00:00.000Z');
const MINUTE = 60_000;
const retry = [MINUTE, 5 * MINUTE, 15 * MINUTE];
const maxAge = 2 * 24 * 60 * MINUTE;

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: '019ac9a0b5c0aabbccddeeff',
    receivedAt: new Date(T0).toISOString(),
    from: 'alice@a.test',
    recipients: [
      { address: 'bob@b.test', domain: 'b.test', state: 'pending' },
      { address: 'carol@b.test', domain: 'b.test', state: 'pending' },
      { address: 'dave@d.test', domain: 'd.test', state: 'pending' },
    ],
    size: 100,
    nextAttemptAt: new Date(T0).toISOString(),
    attempts: [],
    deferrals: 0,
    ...overrides,
  };
}

function attempt(domain: string, at: number, host: string | null, code: number, response: string): AttemptRecord {
  return {
    at: new Date(at).toISOString(),
    domain,
    connector: 'default',
    tlsLevel: 'opportunistic',
    host,
    tls: null,
    verdict: 'none',
    outcome: code >= 500 ? 'bounced' : code >= 400 ? 'deferred' : 'delivered',
    code,
    response,
  };
}

const delivered = (address: string): RecipientResult => ({ address, outcome: 'delivered', code: 250, response: '250 2.0.0 Ok' });
const deferred = (address: string, response = '451 4.7.5 Cannot start TLS: handshake failure'): RecipientResult => ({
  address,
  outcome: 'deferred',
  code: Number(response.slice(0, 3)),
  response,
});
const rejected = (address: string, response = '550 5.1.1 <carol@b.test>: user unknown'): RecipientResult => ({
  address,
  outcome: 'bounced',
  code: Number(response.slice(0, 3)),
  response,
});

function options(now: number, extra: Partial<RoundOptions> = {}): RoundOptions {
  return { now: new Date(now), retry, maxAge, random: () => 0.5, ...extra };
}

const states = (env: Envelope) => env.recipients.map((r) => `${r.address}:${r.state}`);

t.test('partial success: delivered ones are done, deferred ones wait for the schedule', async (t) => {
  const now = T0 + 1000;
  const tried = [attempt('b.test', now, 'mx.b.test', 451, '451 4.7.5 Cannot start TLS: handshake failure')];
  const before = envelope();
  const frozen = JSON.stringify(before);
  const round = recordResults(before, [delivered('bob@b.test'), deferred('carol@b.test')], tried, options(now));
  t.same(states(round.envelope), ['bob@b.test:delivered', 'carol@b.test:pending', 'dave@d.test:pending']);
  t.equal(round.envelope.recipients[1].lastError, '451 4.7.5 Cannot start TLS: handshake failure');
  t.same(round.bounce, []);
  t.equal(round.finished, false);
  t.equal(round.envelope.deferrals, 1);
  t.equal(round.envelope.nextAttemptAt, new Date(now + MINUTE).toISOString(), 'first step of the schedule');
  t.same(round.envelope.attempts, tried);
  t.equal(JSON.stringify(before), frozen, 'the input envelope is not changed');
});

t.test('a delivered recipient loses its old error', async (t) => {
  const env = envelope({ recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'pending', lastError: '451 try later' }] });
  const round = recordResults(env, [delivered('bob@b.test')], [], options(T0 + 1000));
  t.same(round.envelope.recipients, [{ address: 'bob@b.test', domain: 'b.test', state: 'delivered' }]);
  t.equal(round.finished, true);
});

t.test('5xx bounces at once with what the host said', async (t) => {
  const now = T0 + 5000;
  const tried = [
    attempt('b.test', now - 2000, 'mx1.b.test', 421, '421 4.3.2 shutting down'),
    attempt('b.test', now - 1000, 'mx2.b.test', 550, '550 5.1.1 <carol@b.test>: user unknown'),
  ];
  const round = recordResults(envelope(), [delivered('bob@b.test'), rejected('carol@b.test')], tried, options(now));
  t.same(states(round.envelope), ['bob@b.test:delivered', 'carol@b.test:bounced', 'dave@d.test:pending']);
  t.same(round.bounce, [
    {
      address: 'carol@b.test',
      reason: 'rejected',
      status: '5.1.1',
      diagnostic: '550 5.1.1 <carol@b.test>: user unknown',
      lastAttemptAt: new Date(now - 1000).toISOString(),
      remoteMta: 'mx2.b.test',
      attempts: 2,
    },
  ]);
  t.equal(round.envelope.recipients[1].lastError, '550 5.1.1 <carol@b.test>: user unknown');
  t.equal(round.envelope.nextAttemptAt, envelope().nextAttemptAt, 'nothing deferred: the schedule is untouched');
  t.equal(round.envelope.deferrals, 0);
  t.equal(round.finished, false, 'dave is still pending');
});

t.test('a 4xx past maxAge bounces with the last reason, as a permanent failure', async (t) => {
  const earlier = [attempt('b.test', T0 + MINUTE, 'mx.b.test', 451, '451 4.7.5 Cannot start TLS: handshake failure')];
  const now = T0 + maxAge;
  const last = attempt('b.test', now, 'mx.b.test', 451, '451 4.7.5 Cannot start TLS: handshake failure');
  const env = envelope({ attempts: earlier, deferrals: 7, nextAttemptAt: new Date(now).toISOString() });
  const round = recordResults(env, [deferred('bob@b.test'), deferred('carol@b.test')], [last], options(now));
  t.same(states(round.envelope), ['bob@b.test:bounced', 'carol@b.test:bounced', 'dave@d.test:pending']);
  t.same(
    round.bounce.map((b) => [b.address, b.reason, b.status, b.diagnostic, b.attempts, b.remoteMta]),
    [
      ['bob@b.test', 'expired', '5.7.5', '451 4.7.5 Cannot start TLS: handshake failure', 2, 'mx.b.test'],
      ['carol@b.test', 'expired', '5.7.5', '451 4.7.5 Cannot start TLS: handshake failure', 2, 'mx.b.test'],
    ],
  );
  t.equal(round.envelope.recipients[0].lastError, 'giving up after 2 attempts: 451 4.7.5 Cannot start TLS: handshake failure');
  t.equal(round.envelope.deferrals, 7, 'an expiry is not a deferral');
});

t.test('just before maxAge a 4xx is still a deferral', async (t) => {
  const now = T0 + maxAge - 1;
  const round = recordResults(envelope(), [deferred('dave@d.test')], [], options(now));
  t.same(states(round.envelope), ['bob@b.test:pending', 'carol@b.test:pending', 'dave@d.test:pending']);
  t.same(round.bounce, []);
});

t.test('finished once no recipient is pending', async (t) => {
  const now = T0 + 1000;
  const first = recordResults(envelope(), [delivered('bob@b.test'), rejected('carol@b.test')], [], options(now));
  t.equal(first.finished, false);
  const second = recordResults(first.envelope, [delivered('dave@d.test')], [], options(now));
  t.equal(second.finished, true);
  t.same(states(second.envelope), ['bob@b.test:delivered', 'carol@b.test:bounced', 'dave@d.test:delivered']);
});

t.test('only pending recipients change', async (t) => {
  const env = envelope({
    recipients: [
      { address: 'bob@b.test', domain: 'b.test', state: 'delivered' },
      { address: 'carol@b.test', domain: 'b.test', state: 'bounced', lastError: '550 no' },
    ],
  });
  const round = recordResults(env, [rejected('bob@b.test'), delivered('carol@b.test'), delivered('eve@e.test')], [], options(T0 + 1000));
  t.same(round.envelope.recipients, env.recipients, 'a delivered one is never bounced, a bounced one never bounces twice');
  t.same(round.bounce, []);
  t.equal(round.finished, true);
});

t.test('one round over several domains advances the schedule once', async (t) => {
  const now = T0 + 1000;
  const b = recordResults(envelope(), [deferred('bob@b.test'), deferred('carol@b.test')], [], options(now));
  const d = recordResults(b.envelope, [deferred('dave@d.test', '450 4.7.4 TLS is required, but was not offered by host mx.d.test')], [], options(now, { random: () => 0 }));
  t.equal(d.envelope.deferrals, 1);
  t.equal(d.envelope.nextAttemptAt, new Date(now + MINUTE).toISOString());
  t.equal(d.envelope.recipients[2].lastError, '450 4.7.4 TLS is required, but was not offered by host mx.d.test');

  const later = Date.parse(d.envelope.nextAttemptAt) + 10;
  const next = recordResults(d.envelope, [deferred('bob@b.test')], [], options(later));
  t.equal(next.envelope.deferrals, 2, 'the next round takes the next step');
  t.equal(next.envelope.nextAttemptAt, new Date(later + 5 * MINUTE).toISOString());
});

t.test('the next attempt is never later than the expiry', async (t) => {
  const shortAge = 10 * MINUTE;
  const now = T0 + 8 * MINUTE;
  const round = recordResults(envelope(), [deferred('bob@b.test')], [], options(now, { retry: [60 * MINUTE], maxAge: shortAge }));
  t.equal(round.envelope.nextAttemptAt, new Date(T0 + shortAge).toISOString(), 'a last try at expiry, then the bounce');
  const sameRound = recordResults(round.envelope, [deferred('dave@d.test')], [], options(now, { retry: [60 * MINUTE], maxAge: 9 * MINUTE }));
  t.equal(sameRound.envelope.nextAttemptAt, new Date(T0 + 9 * MINUTE).toISOString(), 'a domain with a shorter maxAge brings it forward');
});

t.test('an envelope without a deferral count starts at zero', async (t) => {
  const { deferrals: _, ...old } = envelope();
  const round = recordResults(old, [deferred('bob@b.test')], [], options(T0 + 1000));
  t.equal(round.envelope.deferrals, 1);
});

t.test('the DSN status comes from the enhanced code, class 5, else 5.0.0', async (t) => {
  const cases: Array<[string, string]> = [
    ['550 5.7.1 Relaying denied', '5.7.1'],
    ['554-5.7.26 multi\nline', '5.7.26'],
    ['421 4.4.2 timeout', '5.4.2'],
    ['4.7.4 TLS is required, but was not offered by host mx.b.test', '5.7.4'],
    ['550 mailbox 5.4.3.2 unknown', '5.0.0'],
    ['421 Service not available', '5.0.0'],
    ['connection refused by 5.1.1.1', '5.0.0'],
  ];
  for (const [response, status] of cases) {
    const round = recordResults(envelope(), [rejected('bob@b.test', response)], [], options(T0 + 1000));
    t.equal(round.bounce[0].status, status, response);
    t.equal(round.bounce[0].remoteMta, undefined, 'no host reached, no Remote-MTA');
    t.equal(round.bounce[0].lastAttemptAt, new Date(T0 + 1000).toISOString());
  }
});

t.test('a deferral with notBefore holds the next attempt back until then, expiry permitting', async (t) => {
  const now = T0 + 1000;
  const suspendedUntil = now + 30 * MINUTE;
  const held = (address: string, until = suspendedUntil): RecipientResult => ({ ...deferred(address, '451 4.4.1 delivery temporarily suspended: connect to mx.b.test[192.0.2.1]: Connection refused'), notBefore: new Date(until).toISOString() });

  const round = recordResults(envelope(), [held('bob@b.test'), deferred('carol@b.test')], [], options(now));
  t.equal(round.envelope.nextAttemptAt, new Date(suspendedUntil).toISOString(), 'later than the first step of the schedule');
  t.equal(round.envelope.deferrals, 1, 'it is still one deferral');
  t.notOk('notBefore' in (round.envelope.recipients[0] ?? {}), 'nothing of it is stored with the recipient');

  const early = recordResults(envelope(), [held('bob@b.test', now + 10)], [], options(now));
  t.equal(early.envelope.nextAttemptAt, new Date(now + MINUTE).toISOString(), 'an earlier notBefore leaves the schedule as it is');

  const sameRound = recordResults(early.envelope, [held('dave@d.test')], [], options(now));
  t.equal(sameRound.envelope.nextAttemptAt, new Date(suspendedUntil).toISOString(), 'another domain of the same round can hold the message back too');
  t.equal(sameRound.envelope.deferrals, 1);

  const shortAge = recordResults(envelope(), [held('bob@b.test')], [], options(now, { maxAge: 10 * MINUTE }));
  t.equal(shortAge.envelope.nextAttemptAt, new Date(T0 + 10 * MINUTE).toISOString(), 'never after the expiry');
});

t.test('notBefore counts only for recipients this round defers', async (t) => {
  const now = T0 + 1000;
  const later = new Date(now + 30 * MINUTE).toISOString();
  const env = envelope({ recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'delivered' }, { address: 'carol@b.test', domain: 'b.test', state: 'pending' }] });
  const round = recordResults(env, [{ ...deferred('bob@b.test'), notBefore: later }, deferred('carol@b.test')], [], options(now));
  t.equal(round.envelope.nextAttemptAt, new Date(now + MINUTE).toISOString(), 'a result for a recipient that is not pending is ignored');
  const expired = recordResults(envelope(), [{ ...deferred('bob@b.test'), notBefore: later }], [], options(T0 + maxAge));
  t.equal(expired.envelope.recipients[0]?.state, 'bounced', 'an expired deferral bounces whatever its notBefore');
});

t.test('a delivery to a next hop without DSN is reported as relayed to whoever asked NOTIFY=SUCCESS', async (t) => {
  const now = T0 + 5000;
  const tried = [attempt('b.test', now - 1000, 'mx.b.test[192.0.2.1]:25', 250, '250 2.0.0 Ok: queued as 4Qx9')];
  const relayedTo = (address: string): RecipientResult => ({ ...delivered(address), response: '250 2.0.0 Ok: queued as 4Qx9', withoutDsn: true });
  const cases: Array<[string, string[] | undefined, RecipientResult, string, boolean]> = [
    ['NOTIFY=SUCCESS, next hop without DSN', ['SUCCESS'], relayedTo('bob@b.test'), 'alice@a.test', true],
    ['NOTIFY=SUCCESS,FAILURE, next hop without DSN', ['SUCCESS', 'FAILURE'], relayedTo('bob@b.test'), 'alice@a.test', true],
    ['NOTIFY=SUCCESS, next hop with DSN: it reports', ['SUCCESS'], delivered('bob@b.test'), 'alice@a.test', false],
    ['no NOTIFY: success is not reported', undefined, relayedTo('bob@b.test'), 'alice@a.test', false],
    ['NOTIFY=FAILURE,DELAY', ['FAILURE', 'DELAY'], relayedTo('bob@b.test'), 'alice@a.test', false],
    ['NOTIFY=NEVER', ['NEVER'], relayedTo('bob@b.test'), 'alice@a.test', false],
    ['the null sender: never', ['SUCCESS'], relayedTo('bob@b.test'), '', false],
    ['NOTIFY=SUCCESS but bounced: a failure, not relayed', ['SUCCESS'], { ...rejected('bob@b.test'), withoutDsn: true }, 'alice@a.test', false],
  ];
  for (const [what, notify, result, from, reported] of cases) {
    const env = envelope({ from, recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'pending', notify }] });
    const round = recordResults(env, [result], tried, options(now));
    t.same(
      round.relayed,
      reported ? [{ address: 'bob@b.test', status: '2.0.0', diagnostic: '250 2.0.0 Ok: queued as 4Qx9', lastAttemptAt: new Date(now - 1000).toISOString(), remoteMta: 'mx.b.test[192.0.2.1]:25' }] : [],
      what,
    );
  }
  const already = envelope({ recipients: [{ address: 'bob@b.test', domain: 'b.test', state: 'delivered', notify: ['SUCCESS'] }] });
  t.same(recordResults(already, [relayedTo('bob@b.test')], tried, options(now)).relayed, [], 'a recipient delivered before is not reported again');
});

t.test('markDelivered: the pending recipients named become delivered, and nothing else changes', async (t) => {
  const before = envelope({
    recipients: [
      { address: 'bob@b.test', domain: 'b.test', state: 'pending', lastError: '451 4.2.0 try later' },
      { address: 'carol@b.test', domain: 'b.test', state: 'bounced', lastError: '550 5.1.1 no such user' },
      { address: 'dave@d.test', domain: 'd.test', state: 'pending' },
    ],
    deferrals: 2,
  });
  const after = markDelivered(before, ['bob@b.test', 'carol@b.test']);
  t.same(after.recipients, [
    { address: 'bob@b.test', domain: 'b.test', state: 'delivered' },
    { address: 'carol@b.test', domain: 'b.test', state: 'bounced', lastError: '550 5.1.1 no such user' },
    { address: 'dave@d.test', domain: 'd.test', state: 'pending' },
  ], 'a bounced recipient stays bounced, one not named stays pending');
  t.same({ ...after, recipients: before.recipients }, before, 'schedule, attempts and deferrals untouched');
});
