// The share chart: one stacked bar per partner row, segments as wide as their shares.
import t from 'tap';
import { markupText } from '../../../src/admin/dashboard/html.js';
import { percent, shareChart } from '../../../src/admin/dashboard/shareChart.js';
import { SessionTally } from '../../../src/admin/dashboard/sessionShares.js';
import { sessionRecord } from '../../helpers/transitRecords.js';

t.test('percent', async (t) => {
  t.equal(percent(null), '–');
  t.equal(percent(1), '100 %');
  t.equal(percent(0.6667), '66.7 %');
  t.equal(percent(0), '0 %');
});

t.test('segments in the order verified, encrypted, plaintext, as wide as their shares; long labels cut', async (t) => {
  const tally = new SessionTally();
  const domain = `${'very-long-partner-name.'.repeat(3)}test`;
  tally.add(sessionRecord({ domain }));
  tally.add(sessionRecord({ domain, tls: null, verdict: 'none' }));
  tally.add(sessionRecord({ domain, tls: null, verdict: 'none' }));
  tally.add(sessionRecord({ domain, verdict: 'untrusted' }));
  const svg = markupText(shareChart(tally.view().rows));
  t.same(
    [...svg.matchAll(/<rect class="(\w+)" x="([\d.]+)" y="4" width="([\d.]+)"/g)].map((match) => [match[1], Number(match[2]), Number(match[3])]),
    [
      ['verified', 300, 105],
      ['encrypted', 405, 105],
      ['plaintext', 510, 210],
    ],
  );
  t.match(svg, '>very-long-partner-name.very-long-partner-na…<title>');
  t.match(svg, `<title>${domain} via partner</title>`, 'the whole label as the tooltip');
  t.match(svg, '25 % / 25 % / 50 %');
});
