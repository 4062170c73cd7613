import t from 'tap';
import { AuthFailureLimiter } from '../../src/inbound/authFailureLimiter.js';

const MINUTE = 60_000;

/** A limiter of 3 failures per 10 minutes on a clock the test moves. */
function limiter() {
  const clock = { now: 1_000_000 };
  return { clock, limiter: new AuthFailureLimiter(3, 10 * MINUTE, () => clock.now) };
}

t.test('after the limit of failures an IP is refused until its oldest failure leaves the window', async (t) => {
  const { clock, limiter: l } = limiter();
  t.ok(l.begin('192.0.2.1'), 'failure 1');
  clock.now += MINUTE;
  t.ok(l.begin('192.0.2.1'), 'failure 2');
  clock.now += MINUTE;
  t.ok(l.begin('192.0.2.1'), 'failure 3');
  t.equal(l.begin('192.0.2.1'), undefined, 'the fourth attempt is refused');
  t.ok(l.begin('192.0.2.2'), 'another IP is not affected');

  clock.now += 8 * MINUTE - 1;
  t.equal(l.begin('192.0.2.1'), undefined, 'still refused just before the first failure is 10 minutes old');
  clock.now += 1;
  t.ok(l.begin('192.0.2.1'), 'one attempt again once the first failure left the window');
  t.equal(l.begin('192.0.2.1'), undefined, 'but only one: the other failures are still recent');
});

t.test('refused attempts do not extend the block', async (t) => {
  const { clock, limiter: l } = limiter();
  for (let i = 0; i < 3; i++) l.begin('192.0.2.1');
  for (let i = 0; i < 9; i++) {
    clock.now += MINUTE;
    t.equal(l.begin('192.0.2.1'), undefined);
  }
  clock.now += MINUTE;
  t.ok(l.begin('192.0.2.1'), '10 minutes after the failures, attempts are allowed again');
});

t.test('a released attempt (a success) does not count; attempts in progress do', async (t) => {
  const { limiter: l } = limiter();
  const running = [l.begin('192.0.2.1'), l.begin('192.0.2.1'), l.begin('192.0.2.1')];
  t.equal(l.begin('192.0.2.1'), undefined, 'three attempts still in progress already use up the limit');
  running[1]!.release();
  const next = l.begin('192.0.2.1');
  t.ok(next, 'a released attempt frees its place');
  next!.release();
  running[0]!.release();
  running[2]!.release();
  for (let i = 0; i < 3; i++) t.ok(l.begin('192.0.2.1'), `after successes, failure ${i + 1} is allowed`);
  t.equal(l.begin('192.0.2.1'), undefined);
});

t.test('a release after the window passed and the IP was forgotten does not disturb newer attempts', async (t) => {
  const { clock, limiter: l } = limiter();
  const old = l.begin('192.0.2.1')!;
  clock.now += 21 * MINUTE;
  l.begin('192.0.2.9'); // sweeps the forgotten IP
  for (let i = 0; i < 3; i++) l.begin('192.0.2.1');
  old.release();
  t.equal(l.begin('192.0.2.1'), undefined, 'the three new failures still count');
});
