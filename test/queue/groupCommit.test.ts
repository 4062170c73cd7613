// Group commit: callers that ask for a sync while one runs share the next one; nobody
// is served by a sync that began before they asked. Driven step by step with syncs
// that end only when the test says so, so nothing here depends on timing.
import t from 'tap';
import { groupCommit } from '../../src/queue/groupCommit.js';

/** A sync function whose runs the test ends one by one. */
function controlledSync() {
  const runs: Array<{ finish: () => void; fail: (err: Error) => void }> = [];
  const sync = () =>
    new Promise<void>((resolve, reject) => {
      runs.push({ finish: resolve, fail: reject });
    });
  return { runs, sync };
}

/** Lets every settled promise's reactions run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function track(promise: Promise<void>): { state: () => string } {
  let state = 'pending';
  promise.then(
    () => (state = 'done'),
    (err: Error) => (state = `failed: ${err.message}`),
  );
  return { state: () => state };
}

t.test('a lone caller gets a sync of its own, at once', async (t) => {
  const { runs, sync } = controlledSync();
  const commit = groupCommit(sync);
  const first = track(commit());
  t.equal(runs.length, 1, 'the sync started');
  runs[0]!.finish();
  await settle();
  t.equal(first.state(), 'done');
  const second = track(commit());
  t.equal(runs.length, 2, 'after it ended, the next caller starts another');
  runs[1]!.finish();
  await settle();
  t.equal(second.state(), 'done');
});

t.test('callers during a sync wait for one shared next sync, which starts after it', async (t) => {
  const { runs, sync } = controlledSync();
  const commit = groupCommit(sync);
  const early = track(commit());
  const late = [track(commit()), track(commit()), track(commit())];
  await settle();
  t.equal(runs.length, 1, 'the late callers did not start a sync while one runs');
  runs[0]!.finish();
  await settle();
  t.equal(early.state(), 'done', 'the first caller is served by the first sync');
  t.same(
    late.map((caller) => caller.state()),
    ['pending', 'pending', 'pending'],
    'the late callers are not served by a sync that began before they asked',
  );
  t.equal(runs.length, 2, 'one sync serves all three late callers');
  const later = track(commit());
  await settle();
  t.equal(runs.length, 2, 'a caller during the second sync does not start a third yet');
  runs[1]!.finish();
  await settle();
  t.same(
    late.map((caller) => caller.state()),
    ['done', 'done', 'done'],
  );
  t.equal(later.state(), 'pending');
  t.equal(runs.length, 3);
  runs[2]!.finish();
  await settle();
  t.equal(later.state(), 'done');
});

t.test('a failed sync fails its own callers only; the next one is tried afresh', async (t) => {
  const { runs, sync } = controlledSync();
  const commit = groupCommit(sync);
  const first = track(commit());
  const second = track(commit());
  runs[0]!.fail(new Error('EIO'));
  await settle();
  t.equal(first.state(), 'failed: EIO', 'the caller of the failed sync hears of it');
  t.equal(second.state(), 'pending', 'the queued caller waits for its own sync');
  t.equal(runs.length, 2);
  runs[1]!.finish();
  await settle();
  t.equal(second.state(), 'done');
});
