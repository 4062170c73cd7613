// The durable markers that make a report go once per period and domain: the first claim
// wins, a second (another relay, or this one after a restart) does not; states survive
// in the file; old markers go.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SentMarkers } from '../../src/tlsRpt/sentMarkers.js';

const period = { start: Date.parse('2026-12-02T00:00:00Z'), end: Date.parse('2026-12-03T00:00:00Z') };

t.test('claim once, update, read back after a restart', async (t) => {
  const dir = join(t.testdir(), 'tlsrpt');
  const markers = new SentMarkers(dir);
  t.equal(await markers.read(period, 'a.test'), undefined);
  const marker = { domain: 'a.test', period, destinations: { 'mailto:r@a.test': 'pending' as const, 'https://r.a.test/': 'pending' as const } };
  const other = { ...marker, destinations: {} };
  const claims = await Promise.all([markers.claim(marker), new SentMarkers(dir).claim(other)]);
  t.same([...claims].sort(), [false, true], 'of two claims at once, one wins');
  t.same(await markers.read(period, 'a.test'), claims[0] ? marker : other, "the winner's marker");
  t.equal(await markers.claim(marker), false, 'a later claim (a restarted relay) loses too');
  await markers.update({ ...marker, destinations: { ...marker.destinations, 'mailto:r@a.test': 'sent' } });
  t.same((await new SentMarkers(dir).read(period, 'a.test'))?.destinations, { 'mailto:r@a.test': 'sent', 'https://r.a.test/': 'pending' }, 'what a restarted relay reads');
  t.same(readdirSync(dir), ['20261202T000000Z.a.test.json'], 'no temporary file left behind');
});

t.test('a damaged marker is an error, not a new claim; old markers go', async (t) => {
  const dir = join(t.testdir(), 'tlsrpt');
  const markers = new SentMarkers(dir);
  await markers.claim({ domain: 'a.test', period, destinations: {}, none: 'no record' });
  const next = { start: period.end, end: period.end + 86_400_000 };
  await markers.claim({ domain: 'b.test', period: next, destinations: {} });
  writeFileSync(join(dir, '20261202T000000Z.c.test.json'), '{"domain":');
  await t.rejects(markers.read(period, 'c.test'));
  writeFileSync(join(dir, 'unrelated.txt'), 'x');
  await markers.prune(next.start);
  t.same(readdirSync(dir).sort(), ['20261203T000000Z.b.test.json', 'unrelated.txt'], 'markers of periods before the cut are gone, other files stay');
});
