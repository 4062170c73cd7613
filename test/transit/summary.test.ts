import t from 'tap';
import { TransitTally } from '../../src/transit/summary.js';
import { sessionRecord } from '../helpers/transitRecords.js';

const since = new Date('2026-12-01T00:00:00Z');
const until = new Date('2026-12-02T00:00:00Z');

t.test('counts per domain and in total; verified means a verified or pinned certificate', async (t) => {
  const tally = new TransitTally();
  tally.add(sessionRecord({ domain: 'b.test', messages: 2, delivered: 2 }));
  tally.add(sessionRecord({ domain: 'b.test', verdict: 'pinned', policy: { source: 'connector', level: 'fingerprint' } }));
  tally.add(sessionRecord({ domain: 'b.test', verdict: 'trusted', failure: 'certificate-host-mismatch', outcome: 'deferred', messages: 3, delivered: 0 }));
  tally.add(sessionRecord({ domain: 'a.test', tls: null, verdict: 'none', policy: { source: 'none' }, messages: 1, delivered: 1 }));
  const report = tally.report(since, until);
  t.same(report.domains.map((domain) => domain.domain), ['b.test', 'a.test'], 'busiest first');
  t.strictSame(report.domains[0], {
    domain: 'b.test',
    sessions: 3,
    messages: 3,
    verified: { sessions: 2, messages: 3 },
    verifiedShare: { sessions: 0.6667, messages: 1 },
    tlsVersions: { 'TLSv1.3': { sessions: 3, messages: 3 } },
    verdicts: { verified: { sessions: 1, messages: 2 }, pinned: { sessions: 1, messages: 1 }, trusted: { sessions: 1, messages: 0 } },
    policies: { connector: { sessions: 3, messages: 3 } },
    tlsRequiredNo: { sessions: 0, messages: 0 },
    notDialled: { hosts: 0, messages: 0 },
    failures: { 'certificate-host-mismatch': { sessions: 1, messages: 0 } },
  });
  t.match(report.total, { sessions: 4, messages: 4, verified: { sessions: 2, messages: 3 }, verifiedShare: { sessions: 0.5, messages: 0.75 }, tlsVersions: { plaintext: { sessions: 1, messages: 1 } } });
  t.same([report.since, report.until], [since.toISOString(), until.toISOString()]);
});

t.test('nothing to count: no share rather than 0 %', async (t) => {
  const empty = new TransitTally().report(since, until);
  t.same(empty.domains, []);
  t.same(empty.total.verifiedShare, { sessions: null, messages: null });
  const refused = new TransitTally();
  refused.add(sessionRecord({ verdict: 'untrusted', failure: 'certificate-expired', outcome: 'deferred', delivered: 0 }));
  t.same(refused.report(since, until).total.verifiedShare, { sessions: 0, messages: null }, 'sessions, none verified; no message delivered');
});

t.test('hosts not dialled are no sessions, but failures; TLS-Required: No sessions are counted apart', async (t) => {
  const tally = new TransitTally();
  const undialled = { domain: 'secure.test', ip: null, tls: null, verdict: 'none', outcome: 'deferred', delivered: 0 } as const;
  tally.add(sessionRecord({ ...undialled, policy: { source: 'dane', tlsa: [] }, failure: 'dnssec-invalid', messages: 4 }));
  tally.add(sessionRecord({ ...undialled, policy: { source: 'connector', level: 'dane-only' }, failure: 'dane-required', messages: 1 }));
  tally.add(sessionRecord({ domain: 'secure.test', policy: { source: 'none' }, verdict: 'untrusted', tlsRequiredNo: true, messages: 2, delivered: 2 }));
  const [domain] = tally.report(since, until).domains;
  t.strictSame(domain, {
    domain: 'secure.test',
    sessions: 1,
    messages: 2,
    verified: { sessions: 0, messages: 0 },
    verifiedShare: { sessions: 0, messages: 0 },
    tlsVersions: { 'TLSv1.3': { sessions: 1, messages: 2 } },
    verdicts: { untrusted: { sessions: 1, messages: 2 } },
    policies: { none: { sessions: 1, messages: 2 } },
    tlsRequiredNo: { sessions: 1, messages: 2 },
    notDialled: { hosts: 2, messages: 5 },
    failures: { 'dnssec-invalid': { sessions: 1, messages: 0 }, 'dane-required': { sessions: 1, messages: 0 } },
  }, 'no TLS version, verdict, policy or share for a host never dialled; its failure is counted');
});
