import t from 'tap';
import { ConnectionSlots, type ReleaseSlot } from '../../src/outbound/connectionSlots.js';

const limits = { perHost: 2, overall: 3 };

/** Which of the acquisitions have been granted so far (after pending promise callbacks ran). */
async function granted(requests: Array<Promise<ReleaseSlot>>): Promise<boolean[]> {
  const state = requests.map(() => false);
  requests.forEach((request, index) => void request.then(() => (state[index] = true)));
  await new Promise((resolve) => setImmediate(resolve));
  return state;
}

t.test('perHost caps one host, overall caps all of them, and a release lets the next one in', async (t) => {
  const slots = new ConnectionSlots();
  const a = [slots.acquire('a:25', limits), slots.acquire('a:25', limits), slots.acquire('a:25', limits)];
  t.same(await granted(a), [true, true, false], 'two to host a');
  const b = [slots.acquire('b:25', limits), slots.acquire('b:25', limits)];
  t.same(await granted(b), [true, false], 'the third connection in all');

  const releaseA0 = await a[0]!;
  releaseA0();
  t.same(await granted(a), [true, true, true], 'the host a waiter came first');
  t.same(await granted(b), [true, false]);
  releaseA0();
  t.same(await granted(b), [true, false], 'a second release of the same slot frees nothing');

  (await a[1]!)();
  t.same(await granted(b), [true, true]);
});

t.test('a waiter that does not fit does not hold up one that does', async (t) => {
  const slots = new ConnectionSlots();
  const first = await slots.acquire('a:25', { perHost: 1, overall: 10 });
  const blocked = slots.acquire('a:25', { perHost: 1, overall: 10 });
  const other = slots.acquire('b:25', { perHost: 1, overall: 10 });
  t.same(await granted([blocked, other]), [false, true]);
  first();
  t.same(await granted([blocked, other]), [true, true]);
});

t.test('each waiter brings the limits of its own config snapshot', async (t) => {
  const slots = new ConnectionSlots();
  await slots.acquire('a:25', { perHost: 1, overall: 1 });
  const raised = slots.acquire('a:25', { perHost: 2, overall: 2 });
  t.same(await granted([raised]), [true]);
});

t.test('a waiting request can be withdrawn: it rejects, and the slot goes to the next in line', async (t) => {
  const slots = new ConnectionSlots();
  const one = { perHost: 1, overall: 10 };
  const holder = await slots.acquire('a:25', one);
  t.equal(slots.isFull('a:25', one), true);
  const withdraw = new AbortController();
  const withdrawn = slots.acquire('a:25', one, withdraw.signal);
  const next = slots.acquire('a:25', one);
  withdraw.abort(new Error('handed a parked session instead'));
  await t.rejects(withdrawn, /handed a parked session instead/);
  holder();
  t.same(await granted([next]), [true], 'the release went to the request still waiting');
  t.equal(slots.isFull('b:25', one), false, 'another host has room');
  const late = new AbortController();
  const granted2 = slots.acquire('b:25', one, late.signal);
  const release = await granted2;
  late.abort();
  t.equal(slots.isFull('b:25', one), true, 'a withdrawal after the grant leaves the slot with its holder');
  release();
  t.equal(slots.isFull('b:25', one), false);
});
