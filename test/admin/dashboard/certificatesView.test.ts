// The certificates section: what runs out when, in whole days left, soonest first.
import t from 'tap';
import { certificateRows, expiryStatus, SOON_DAYS } from '../../../src/admin/dashboard/certificatesView.js';
import type { Dated } from '../../../src/tls/dated.js';

const NOW = new Date('2026-12-02T12:00:00.000Z');
const DAY = 86_400_000;
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY);

const dated = (fields: Partial<Dated> & Pick<Dated, 'end'>): Dated => ({ kind: 'certificate', setting: 'tls.cert', file: '/etc/tlsrelay/relay.crt', place: undefined, subject: 'CN=relay.test', ...fields });

t.test('expiry status by days left', async (t) => {
  const cases: Array<[number, string]> = [
    [-1, 'expired'],
    [0, 'soon'],
    [SOON_DAYS - 1, 'soon'],
    [SOON_DAYS, 'ok'],
    [400, 'ok'],
  ];
  for (const [days, status] of cases) t.equal(expiryStatus(days), status, `${days} days`);
});

t.test('rows: days left as the warnings count them, soonest first, the connector of a CRL named', async (t) => {
  const rows = certificateRows(
    [
      dated({ end: new Date(at(40).getTime() + 3_600_000) }),
      dated({ kind: 'trust-anchor', setting: 'tls.trust', file: '/etc/tlsrelay/ca.crt', subject: 'CN=Partner CA', end: at(400) }),
      dated({ kind: 'crl', setting: 'outbound[0].crl', connector: 'partner', file: '/etc/tlsrelay/partner.crl', subject: 'CN=Partner CA', end: new Date(at(3).getTime() - 3_600_000) }),
      dated({ kind: 'certificate', setting: 'tls.certificates[1].cert', subject: 'CN=old.relay.test', end: new Date(NOW.getTime() - 3_600_000) }),
    ],
    NOW,
  );
  t.same(
    rows.map((row) => [row.kind, row.setting, row.connector, row.daysLeft, row.status]),
    [
      ['certificate', 'tls.certificates[1].cert', null, -1, 'expired'],
      ['crl', 'outbound[0].crl', 'partner', 2, 'soon'],
      ['certificate', 'tls.cert', null, 40, 'ok'],
      ['trust-anchor', 'tls.trust', null, 400, 'ok'],
    ],
  );
  t.equal(rows[3]!.end, at(400).toISOString());
});

t.test('what runs out at the same instant is in the order of its setting', async (t) => {
  const end = at(10);
  const rows = certificateRows([dated({ setting: 'tls.trust', kind: 'trust-anchor', end }), dated({ setting: 'tls.crl', kind: 'crl', end })], NOW);
  t.same(rows.map((row) => row.setting), ['tls.crl', 'tls.trust']);
});
