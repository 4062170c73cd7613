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
