import t from 'tap';
import type { ObservedSession } from '../../src/policy/observedTls.js';
import { decodeRecord, encodeRecord } from '../../src/transit/record.js';
import { fencedBlocks, readmeSection } from '../helpers/docText.js';
import { sessionRecord } from '../helpers/transitRecords.js';

t.test('a record round-trips through its line', async (t) => {
  const record = sessionRecord({ policy: { source: 'mta-sts', mode: 'testing', id: '20261201T000000', mx: ['*.example.test'], policyText: ['version: STSv1', 'mode: testing', 'mx: *.example.test', 'max_age: 86400'] }, failure: 'sts-webpki-invalid' });
  const line = encodeRecord(record);
  t.match(line, /^\{.*\}\n$/, 'one line');
  t.same(decodeRecord(line.trimEnd()), record);
});

t.test('what a replay reads round-trips too; a line without it (an older version) is read as ever', async (t) => {
  const observed: ObservedSession = { kind: 'established', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', chainValid: true, certificate: { dnsNames: ['mx.partner.test'], ipAddresses: [], commonNames: [], sha256: 'a'.repeat(64), spkiSha256: 'b'.repeat(64) } };
  const record = sessionRecord({ route: 'mx', observed, fallback: true, published: { mtaSts: { kind: 'none', reason: 'no policy' } } });
  t.same(decodeRecord(encodeRecord(record).trimEnd()), record);
  const older = sessionRecord();
  t.same(decodeRecord(encodeRecord(older).trimEnd()), older, 'no route, observed or published: still a record');
});

t.test('a host never dialled: no ip', async (t) => {
  const record = sessionRecord({ ip: null, tls: null, verdict: 'none', policy: { source: 'dane', tlsa: [] }, failure: 'dnssec-invalid', outcome: 'deferred', delivered: 0, tlsRequiredNo: true });
  t.same(decodeRecord(encodeRecord(record).trimEnd()), record);
});

t.test('lines that are not a record the report can count', async (t) => {
  const good = sessionRecord();
  const cases: Array<[string, unknown]> = [
    ['not JSON', '{"v":1,"at"'],
    ['null', null],
    ['another format', { ...good, v: 2 }],
    ['no time', { ...good, at: 5 }],
    ['no domain', { ...good, domain: undefined }],
    ['a verdict that is no string', { ...good, verdict: 1 }],
    ['an outcome that is no string', { ...good, outcome: null }],
    ['a negative count', { ...good, messages: -1 }],
    ['a count that is no integer', { ...good, delivered: 0.5 }],
    ['an ip that is neither an address nor null', { ...good, ip: 25 }],
    ['no policy', { ...good, policy: null }],
    ['a policy without a source', { ...good, policy: { level: 'verify' } }],
    ['tls without a protocol', { ...good, tls: { cipher: 'x' } }],
    ['tls that is no object', { ...good, tls: 'TLSv1.3' }],
    ['a failure RFC 8460 does not name', { ...good, failure: 'certificate-revoked' }],
    ['an observation without a kind', { ...good, observed: { protocol: 'TLSv1.3' } }],
    ['an observation that is no object', { ...good, observed: 'established' }],
    ['published findings that are no object', { ...good, published: 'tlsa' }],
  ];
  for (const [what, value] of cases) t.equal(decodeRecord(typeof value === 'string' ? value : JSON.stringify(value)), undefined, what);
});

t.test("README's example records are records the report reads", async (t) => {
  const examples = fencedBlocks(readmeSection('## Transit record and `report tls`'), 'json');
  t.equal(examples.length, 2, 'a session and a host not dialled');
  const [session, notDialled] = examples.map((line) => decodeRecord(line.trim()));
  t.match(session, { ip: String, failure: 'certificate-expired' });
  t.match(notDialled, { ip: null, tls: null, verdict: 'none', failure: 'dnssec-invalid', outcome: 'deferred', delivered: 0 });
});
