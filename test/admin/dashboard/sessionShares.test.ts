// The partner rows and recent failures from transit records: per domain and connector the
// share of sessions verified, encrypted without verification and in plaintext; hosts never
// dialled apart; the failures newest first.
import t from 'tap';
import { FAILURES_SHOWN, ROWS_SHOWN, sessionClass, SessionTally } from '../../../src/admin/dashboard/sessionShares.js';
import type { CertVerdict } from '../../../src/queue/types.js';
import type { TransitRecord } from '../../../src/transit/record.js';
import { sessionRecord } from '../../helpers/transitRecords.js';

const TLS = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };

t.test('a session is verified when its certificate proved the next hop, encrypted when only TLS ran, else plaintext', async (t) => {
  const cases: Array<[TransitRecord['tls'], CertVerdict, string]> = [
    [TLS, 'verified', 'verified'],
    [TLS, 'pinned', 'verified'],
    [TLS, 'dane', 'verified'],
    [TLS, 'trusted', 'encrypted'],
    [TLS, 'untrusted', 'encrypted'],
    [null, 'none', 'plaintext'],
  ];
  for (const [tls, verdict, kind] of cases) t.equal(sessionClass({ tls, verdict }), kind, `${tls === null ? 'plaintext' : 'TLS'}, ${verdict}`);
});

function tally(records: TransitRecord[]): ReturnType<SessionTally['view']> {
  const counting = new SessionTally();
  for (const record of records) counting.add(record);
  return counting.view();
}

t.test('rows per domain and connector, busiest first, with shares', async (t) => {
  const view = tally([
    sessionRecord({ domain: 'fabrikam.test', connector: 'fabrikam', delivered: 3, messages: 3 }),
    sessionRecord({ domain: 'fabrikam.test', connector: 'fabrikam', verdict: 'untrusted' }),
    sessionRecord({ domain: 'fabrikam.test', connector: 'fabrikam', tls: null, verdict: 'none' }),
    // the same domain under another connector (a reload moved it) is a row of its own
    sessionRecord({ domain: 'fabrikam.test', connector: 'default', tls: null, verdict: 'none' }),
    sessionRecord({ domain: 'contoso.test', connector: 'onprem', failure: 'certificate-host-mismatch', verdict: 'untrusted', outcome: 'deferred', delivered: 0 }),
    sessionRecord({ domain: 'contoso.test', connector: 'onprem' }),
  ]);
  t.same(
    view.rows.map((row) => [row.domain, row.connector, row.sessions, row.counts, row.shares, row.delivered, row.failed]),
    [
      ['fabrikam.test', 'fabrikam', 3, { verified: 1, encrypted: 1, plaintext: 1 }, { verified: 0.3333, encrypted: 0.3333, plaintext: 0.3333 }, 5, 0],
      ['contoso.test', 'onprem', 2, { verified: 1, encrypted: 1, plaintext: 0 }, { verified: 0.5, encrypted: 0.5, plaintext: 0 }, 1, 1],
      ['fabrikam.test', 'default', 1, { verified: 0, encrypted: 0, plaintext: 1 }, { verified: 0, encrypted: 0, plaintext: 1 }, 1, 0],
    ],
  );
  t.equal(view.rowsNotShown, 0);
});

t.test('a host never dialled is no session: counted apart, and among the failures', async (t) => {
  const view = tally([sessionRecord({ domain: 'dane.test', connector: 'dane', ip: null, tls: null, verdict: 'none', failure: 'dnssec-invalid', outcome: 'deferred', delivered: 0, reply: '4.7.5 TLSA lookup for _25._tcp.mx.dane.test failed: DNSSEC bogus' })]);
  t.same(view.rows[0], {
    domain: 'dane.test',
    connector: 'dane',
    sessions: 0,
    counts: { verified: 0, encrypted: 0, plaintext: 0 },
    shares: { verified: null, encrypted: null, plaintext: null },
    delivered: 0,
    failed: 0,
    notDialled: 1,
  });
  t.same(view.failures.map((failure) => [failure.ip, failure.failure, failure.reply]), [[null, 'dnssec-invalid', '4.7.5 TLSA lookup for _25._tcp.mx.dane.test failed: DNSSEC bogus']]);
});

t.test('failures: the newest FAILURES_SHOWN whatever order the records came in, all of them counted', async (t) => {
  const base = Date.parse('2026-12-02T00:00:00.000Z');
  // out of order, as two relays' day files are read one after the other
  const minutes = Array.from({ length: 3 * FAILURES_SHOWN }, (_, index) => (index * 37) % (3 * FAILURES_SHOWN));
  const view = tally(minutes.map((minute) => sessionRecord({ at: new Date(base + minute * 60_000).toISOString(), failure: 'certificate-expired', outcome: 'deferred', delivered: 0, host: `mx${minute}.partner.test` })));
  t.equal(view.failureCount, 3 * FAILURES_SHOWN);
  t.equal(view.failures.length, FAILURES_SHOWN);
  const newest = 3 * FAILURES_SHOWN - 1;
  t.same(
    view.failures.map((failure) => failure.host),
    Array.from({ length: FAILURES_SHOWN }, (_, index) => `mx${newest - index}.partner.test`),
  );
  t.equal(view.rows[0]!.failed, 3 * FAILURES_SHOWN);
});

t.test('beyond ROWS_SHOWN rows the quietest are counted, not shown', async (t) => {
  const records = Array.from({ length: ROWS_SHOWN + 2 }, (_, index) => Array.from({ length: index + 1 }, () => sessionRecord({ domain: `d${index}.test` }))).flat();
  const view = tally(records);
  t.equal(view.rows.length, ROWS_SHOWN);
  t.equal(view.rowsNotShown, 2);
  t.equal(view.rows[0]!.domain, `d${ROWS_SHOWN + 1}.test`);
  t.notOk(view.rows.some((row) => row.domain === 'd0.test' || row.domain === 'd1.test'));
});

t.test('rows of equal sessions are in the order of domain, then connector', async (t) => {
  const view = tally([sessionRecord({ domain: 'b.test', connector: 'y' }), sessionRecord({ domain: 'b.test', connector: 'x' }), sessionRecord({ domain: 'a.test', connector: 'z' })]);
  t.same(view.rows.map((row) => `${row.domain} ${row.connector}`), ['a.test z', 'b.test x', 'b.test y']);
});
