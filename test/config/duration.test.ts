import t from 'tap';
import { parseDuration } from '../../src/config/duration.js';

t.test('durations in milliseconds', async (t) => {
  const cases: Array<[string, number]> = [
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['2d', 172_800_000],
    ['0s', 0],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
});

t.test('anything else is undefined', async (t) => {
  for (const text of ['', '30', '1.5h', '-1m', '5 m', ' 5m', '5M', '5ms', '1w', 'm', '99999999999999999d']) {
    t.equal(parseDuration(text), undefined, JSON.stringify(text));
  }
});
