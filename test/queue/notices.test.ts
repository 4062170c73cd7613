import t from 'tap';
import { decideDelayNotice, notifies, statusOfClass, type DelayNoticeOptions } from '../../src/queue/notices.js';
import type { AttemptRecord, DsnReport, Envelope, QueuedRecipient } from '../../src/queue/types.js';

const T0 = Date.parse('2025-11-28T10:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DEFERRAL = '451 4.7.5 Cannot start TLS: handshake failure';

t.test('NOTIFY: who wants which notice', async (t) => {
  const cases: Array<[string[] | undefined, Record<DsnReport['action'], boolean>]> = [
    [undefined, { failed: true, delayed: true, relayed: false }],
    [[], { failed: true, delayed: true, relayed: false }],
    [['NEVER'], { failed: false, delayed: false, relayed: false }],
    [['SUCCESS'], { failed: false, delayed: false, relayed: true }],
    [['FAILURE'], { failed: true, delayed: false, relayed: false }],
    [['DELAY'], { failed: false, delayed: true, relayed: false }],
    [['SUCCESS', 'FAILURE'], { failed: true, delayed: false, relayed: true }],
    [['success', 'failure', 'delay'], { failed: true, delayed: true, relayed: true }],
  ];
  for (const [notify, wants] of cases) {
    for (const action of ['failed', 'delayed', 'relayed'] as const) {
      t.equal(notifies({ notify }, action), wants[action], `NOTIFY=${notify?.join(',') ?? '(none)'}, ${action}`);
    }
  }
  t.equal(notifies(undefined, 'failed'), true, 'a recipient not in the envelope: the MTA decides');
});

t.test('the status of a DSN: the reply\'s detail, the class of the notice', async (t) => {
  const cases: Array<[string, 2 | 4 | 5, string]> = [
    ['450 4.7.4 TLS is required, but was not offered by host mx.test', 5, '5.7.4'],
    ['451 4.7.5 Cannot start TLS: handshake failure', 4, '4.7.5'],
    ['550 5.1.1 <bob@b.test>: user unknown', 5, '5.1.1'],
    ['250 2.6.0 Ok: queued', 2, '2.6.0'],
    ['250 Ok', 2, '2.0.0'],
    ['421 Service not available', 4, '4.0.0'],
    ['5.4.4 Host not found', 5, '5.4.4'],
    ['  451 4.4.1 padded  ', 4, '4.4.1'],
    ['451 4.7.55x', 4, '4.0.0'],
  ];
  for (const [response, statusClass, status] of cases) t.equal(statusOfClass(response, statusClass), status, response);
});

function recipient(address: string, fields: Partial<QueuedRecipient> = {}): QueuedRecipient {
  return { address, domain: address.slice(address.indexOf('@') + 1), state: 'pending', lastError: DEFERRAL, ...fields };
}

function attempt(domain: string, at: number, host: string | null): AttemptRecord {
  return { at: new Date(at).toISOString(), domain, connector: 'default', tlsLevel: 'opportunistic', host, tls: null, verdict: 'none', outcome: 'deferred', code: 451, response: DEFERRAL };
}

function envelope(recipients: QueuedRecipient[], overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: '019ac9a0b5c0aabbccddeeff',
    receivedAt: new Date(T0).toISOString(),
    from: 'alice@a.test',
    recipients,
    size: 100,
    nextAttemptAt: new Date(T0 + 5 * HOUR).toISOString(),
    attempts: [attempt('b.test', T0 + HOUR, 'mx1.b.test[192.0.2.1]:25'), attempt('b.test', T0 + 4 * HOUR, 'mx2.b.test[192.0.2.2]:25'), attempt('d.test', T0 + 3 * HOUR, null)],
    deferrals: 3,
    ...overrides,
  };
}

const MAX_AGE: Record<string, number> = { 'b.test': 48 * HOUR, 'd.test': 24 * HOUR, 'e.test': 4 * HOUR };
const options = (now: number): DelayNoticeOptions => ({ now: new Date(now), delayNotice: 4 * HOUR, maxAge: (domain) => MAX_AGE[domain] ?? 48 * HOUR });

t.test('the delay notice: once, when late, for whoever asked', async (t) => {
  const late = T0 + 4 * HOUR;
  const cases: Array<[string, Envelope, number, { sent: boolean; delayed: string[] }]> = [
    ['younger than delayNotice: not yet', envelope([recipient('bob@b.test')]), late - 1, { sent: false, delayed: [] }],
    ['as old as delayNotice, deferred: notice', envelope([recipient('bob@b.test')]), late, { sent: true, delayed: ['bob@b.test'] }],
    ['sent before: never again', envelope([recipient('bob@b.test')], { delayNoticeSent: true }), late + HOUR, { sent: true, delayed: [] }],
    ['the null sender: never', envelope([recipient('bob@b.test')], { from: '' }), late, { sent: false, delayed: [] }],
    ['nothing pending: nothing delayed', envelope([recipient('bob@b.test', { state: 'delivered', lastError: undefined }), recipient('carol@b.test', { state: 'bounced' })]), late, { sent: false, delayed: [] }],
    ['pending, never deferred: not late by a deferral', envelope([recipient('bob@b.test', { lastError: undefined })]), late, { sent: false, delayed: [] }],
    [
      'only the pending and deferred ones are named',
      envelope([recipient('bob@b.test'), recipient('carol@b.test', { state: 'delivered', lastError: undefined }), recipient('dave@d.test')]),
      late,
      { sent: true, delayed: ['bob@b.test', 'dave@d.test'] },
    ],
    [
      'NOTIFY: DELAY or none; not NEVER, not FAILURE or SUCCESS alone',
      envelope([
        recipient('none@b.test'),
        recipient('delay@b.test', { notify: ['DELAY'] }),
        recipient('all@b.test', { notify: ['SUCCESS', 'FAILURE', 'DELAY'] }),
        recipient('never@b.test', { notify: ['NEVER'] }),
        recipient('failure@b.test', { notify: ['FAILURE'] }),
        recipient('success@b.test', { notify: ['SUCCESS'] }),
      ]),
      late,
      { sent: true, delayed: ['none@b.test', 'delay@b.test', 'all@b.test'] },
    ],
    ['nobody asked: no DSN, but the moment has passed', envelope([recipient('bob@b.test', { notify: ['NEVER'] })]), late, { sent: true, delayed: [] }],
    ['past its maxAge: a failure at the next attempt, not a delay', envelope([recipient('eve@e.test'), recipient('bob@b.test')]), late, { sent: true, delayed: ['bob@b.test'] }],
    ['only past maxAge: no notice yet, nor its moment', envelope([recipient('eve@e.test')]), late, { sent: false, delayed: [] }],
  ];
  for (const [what, env, now, expected] of cases) {
    const frozen = JSON.stringify(env);
    const notice = decideDelayNotice(env, options(now));
    t.equal(notice.envelope.delayNoticeSent === true, expected.sent, `${what}: delayNoticeSent`);
    t.same(
      notice.delayed.map((r) => r.address),
      expected.delayed,
      `${what}: recipients`,
    );
    t.equal(JSON.stringify(env), frozen, `${what}: the envelope given is not changed`);
    if (!expected.sent) t.equal(notice.envelope, env, `${what}: the same envelope back`);
  }
});

t.test('the delay notice names the last deferral, its host, and when the relay gives up', async (t) => {
  const env = envelope([recipient('bob@b.test', { lastError: '450 4.7.4 TLS is required, but was not offered by host mx2.b.test' }), recipient('dave@d.test', { lastError: '421 try later' })]);
  const now = T0 + 5 * HOUR;
  const { delayed, envelope: after } = decideDelayNotice(env, options(now));
  t.same(delayed, [
    {
      address: 'bob@b.test',
      status: '4.7.4',
      diagnostic: '450 4.7.4 TLS is required, but was not offered by host mx2.b.test',
      lastAttemptAt: new Date(T0 + 4 * HOUR).toISOString(),
      remoteMta: 'mx2.b.test[192.0.2.2]:25',
      willRetryUntil: new Date(T0 + 48 * HOUR).toISOString(),
    },
    {
      address: 'dave@d.test',
      status: '4.0.0',
      diagnostic: '421 try later',
      lastAttemptAt: new Date(T0 + 3 * HOUR).toISOString(),
      willRetryUntil: new Date(T0 + 24 * HOUR).toISOString(),
    },
  ]);
  t.same({ ...after, delayNoticeSent: undefined }, { ...env, delayNoticeSent: undefined }, 'nothing else changes');
  const noAttempts = decideDelayNotice({ ...env, attempts: [] }, options(now)).delayed[0];
  t.equal(noAttempts?.lastAttemptAt, new Date(now).toISOString(), 'no attempt on record: now');
  t.equal(noAttempts?.remoteMta, undefined);
});
