import t from 'tap';
import { describeHolder, LostClaimError, type ClaimHolder } from '../../src/queue/messageQueue.js';

t.test('the lost-claim error names the new holder as people read it', async (t) => {
  const holder: ClaimHolder = { pid: 4242, host: 'relay-b', token: 'beefbeefbeefbeef', since: '2026-01-02T03:04:05.000Z' };
  t.equal(describeHolder(holder), 'pid 4242 on relay-b since 2026-01-02T03:04:05.000Z');
  t.equal(new LostClaimError(holder).message, 'the message claim was taken over by pid 4242 on relay-b since 2026-01-02T03:04:05.000Z');
  t.equal(new LostClaimError(undefined).message, 'the message claim is no longer there');
  t.equal(new LostClaimError(holder).name, 'LostClaimError');
});
