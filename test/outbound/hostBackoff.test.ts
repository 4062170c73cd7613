import t from 'tap';
import { HostBackoff, MAX_SUSPENSION_MS, type Admission, type Pass } from '../../src/outbound/hostBackoff.js';
import type { Disposition } from '../../src/outbound/replies.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const schedule = [MINUTE, 5 * MINUTE, 15 * MINUTE];
const HOST = '192.0.2.1:25';
const refused: Disposition = { outcome: 'deferred', code: 451, response: '451 4.4.1 connect to 192.0.2.1: connect ECONNREFUSED 192.0.2.1:25' };
const timedOut: Disposition = { outcome: 'deferred', code: 451, response: '451 4.4.1 connect to 192.0.2.1: Connection timeout' };

function setup(): { backoff: HostBackoff; clock: { now: number } } {
  const clock = { now: Date.parse('2025-11-28T10:00:00.000Z') };
  return { backoff: new HostBackoff(() => clock.now), clock };
}

function go(admission: Admission): Pass {
  if (admission.kind !== 'go') throw new Error(`expected to go ahead, got ${JSON.stringify(admission)}`);
  return admission.pass;
}

t.test('a healthy scope lets every connection go, probing nothing', async (t) => {
  const { backoff } = setup();
  const first = go(backoff.admit([HOST]));
  const second = go(backoff.admit([HOST]));
  t.same([...first.probing, ...second.probing], []);
  t.equal(backoff.resumesAt([HOST]), undefined);
  t.equal(backoff.up(HOST), 0, 'a success where nothing failed changes nothing');
});

t.test('a failure suspends the scope for the first step; then one probe, and the next step if it fails', async (t) => {
  const { backoff, clock } = setup();
  const start = clock.now;
  t.same(backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule), { failures: 1, until: start + MINUTE });
  t.same(backoff.admit([HOST]), { kind: 'suspended', scope: HOST, failures: 1, until: start + MINUTE, lastError: refused });
  t.equal(backoff.resumesAt([HOST]), start + MINUTE);

  clock.now = start + MINUTE - 1;
  t.equal(backoff.admit([HOST]).kind, 'suspended', 'one millisecond before the end');

  clock.now = start + MINUTE;
  const probe = go(backoff.admit([HOST]));
  t.same([...probe.probing], [HOST], 'the first connection after the period probes');
  t.match(backoff.admit([HOST]), { kind: 'suspended', failures: 1 }, 'everyone else waits for the probe');
  t.equal(backoff.resumesAt([HOST]), undefined, 'the period is over; only the probe holds the others back');

  t.same(backoff.down(probe, HOST, timedOut, schedule), { failures: 2, until: clock.now + 5 * MINUTE });
  t.match(backoff.admit([HOST]), { kind: 'suspended', failures: 2, lastError: timedOut }, 'the latest error is what the others hear');
});

t.test('the steps follow the schedule, the last repeating, never longer than an hour', async (t) => {
  const { backoff, clock } = setup();
  const periods: number[] = [];
  for (const steps of [schedule, schedule, schedule, schedule, [2 * HOUR], [2 * HOUR]]) {
    const outage = backoff.down(go(backoff.admit([HOST])), HOST, refused, steps);
    periods.push((outage?.until ?? 0) - clock.now);
    clock.now = outage?.until ?? clock.now;
  }
  t.same(periods, [MINUTE, 5 * MINUTE, 15 * MINUTE, 15 * MINUTE, MAX_SUSPENSION_MS, MAX_SUSPENSION_MS]);
  t.equal(MAX_SUSPENSION_MS, HOUR);
});

t.test('a success clears the scope, and says how many failures it ends', async (t) => {
  const { backoff, clock } = setup();
  backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule);
  clock.now += MINUTE;
  backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule);
  clock.now += 5 * MINUTE;
  go(backoff.admit([HOST]));
  t.equal(backoff.up(HOST), 2);
  t.equal(backoff.admit([HOST]).kind, 'go', 'everyone may connect again');
  t.equal(backoff.admit([HOST]).kind, 'go', 'without a probe');
  t.same(backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule), { failures: 1, until: clock.now + MINUTE }, 'a later outage starts from the first step');
});

t.test('connections that set out before the outage was known fail with it, not after it', async (t) => {
  const { backoff, clock } = setup();
  const passes = [go(backoff.admit([HOST])), go(backoff.admit([HOST])), go(backoff.admit([HOST]))];
  t.same(backoff.down(passes[0]!, HOST, refused, schedule), { failures: 1, until: clock.now + MINUTE });
  t.equal(backoff.down(passes[1]!, HOST, timedOut, schedule), undefined, 'no second period, no second count');
  t.match(backoff.admit([HOST]), { kind: 'suspended', failures: 1, until: clock.now + MINUTE, lastError: timedOut });

  clock.now += MINUTE;
  const probe = go(backoff.admit([HOST]));
  t.equal(backoff.down(passes[2]!, HOST, refused, schedule), undefined, 'while a probe is out, it decides');
  t.same(backoff.down(probe, HOST, refused, schedule), { failures: 2, until: clock.now + 5 * MINUTE });
});

t.test('a probe that never reports is released, and the next connection probes', async (t) => {
  const { backoff, clock } = setup();
  backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule);
  clock.now += MINUTE;
  const abandoned = go(backoff.admit([HOST]));
  t.equal(backoff.admit([HOST]).kind, 'suspended');
  backoff.release(abandoned);
  const next = go(backoff.admit([HOST]));
  t.same([...next.probing], [HOST]);
  backoff.release(abandoned);
  t.equal(backoff.admit([HOST]).kind, 'suspended', 'releasing a pass frees only its own probes');
});

t.test('several scopes: any one suspended holds the connection back; expired ones are probed together', async (t) => {
  const { backoff, clock } = setup();
  const tls = `${HOST} connector=partner`;
  const other = '192.0.2.2:25';
  backoff.down(go(backoff.admit([HOST, tls])), tls, refused, schedule);
  t.match(backoff.admit([HOST, tls]), { kind: 'suspended', scope: tls });
  t.equal(backoff.admit([HOST, `${HOST} connector=default`]).kind, 'go', 'another connector to the same address goes');
  t.equal(backoff.admit([other]).kind, 'go', 'another address goes');

  backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule);
  clock.now += MINUTE / 2;
  backoff.down(go(backoff.admit([other])), other, refused, schedule);
  t.equal(backoff.resumesAt([HOST, tls]), clock.now + MINUTE / 2, 'the latest end among the scopes');
  t.equal(backoff.resumesAt([other]), clock.now + MINUTE);

  clock.now += MINUTE / 2;
  const probe = go(backoff.admit([HOST, tls]));
  t.same([...probe.probing].sort(), [HOST, tls].sort());
  t.equal(backoff.admit([HOST]).kind, 'suspended');
  t.equal(backoff.admit([tls]).kind, 'suspended');
});

t.test('an operator\'s retry ends every backoff period: one probe each, failures still counted', async (t) => {
  const { backoff, clock } = setup();
  const other = '192.0.2.2:25';
  backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule);
  clock.now += MINUTE;
  backoff.down(go(backoff.admit([HOST])), HOST, refused, schedule);
  backoff.down(go(backoff.admit([other])), other, refused, schedule);
  clock.now += 1000;
  backoff.endPeriods();
  t.equal(backoff.resumesAt([HOST]), undefined);
  const probe = go(backoff.admit([HOST]));
  t.match(backoff.admit([HOST]), { kind: 'suspended', failures: 2 }, 'the others still wait for the probe');
  t.same(backoff.down(probe, HOST, refused, schedule), { failures: 3, until: clock.now + 15 * MINUTE });
  t.equal(go(backoff.admit([other])).probing.size, 1, 'every suspended scope gets its probe');
});
