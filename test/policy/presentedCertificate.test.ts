// The names a certificate presents, judged without Node: a replayed session (policy
// what-if) and a live one are judged by certificateNamesHost over the names the record
// keeps, so it must say what Node's tls.checkServerIdentity says of the same certificate.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import t from 'tap';
import { certificateNamesHost, nameMismatchText, pinned, type PresentedCertificate } from '../../src/policy/presentedCertificate.js';
import { certificateNames, splitAltNames } from '../../src/tls/certificateNames.js';

type Peer = Pick<PeerCertificate, 'subjectaltname' | 'subject'>;

const presented = (peer: Peer): PresentedCertificate => ({ ...certificateNames(peer), sha256: 'c'.repeat(64), spkiSha256: 's'.repeat(64) });

// [subjectaltname as Node writes it (undefined: none), CN, host]
const CASES: Array<[string | undefined, string | string[] | undefined, string]> = [
  ['DNS:mx.fabrikam.test', undefined, 'mx.fabrikam.test'],
  ['DNS:mx.fabrikam.test', undefined, 'mx2.fabrikam.test'],
  ['DNS:other.test, DNS:mx.fabrikam.test', undefined, 'mx.fabrikam.test'],
  ['DNS:*.fabrikam.test', undefined, 'mx.fabrikam.test'],
  ['DNS:*.fabrikam.test', undefined, 'fabrikam.test'],
  ['DNS:MX.Fabrikam.Test.', undefined, 'mx.fabrikam.test'],
  ['DNS:mx.fabrikam.test', undefined, 'mx.fabrikam.test.'],
  // the CN counts only without DNS entries; IP entries do not count as such
  [undefined, 'mx.fabrikam.test', 'mx.fabrikam.test'],
  ['DNS:other.test', 'mx.fabrikam.test', 'mx.fabrikam.test'],
  ['IP Address:192.0.2.7', 'mx.fabrikam.test', 'mx.fabrikam.test'],
  [undefined, ['other.test', 'mx.fabrikam.test'], 'mx.fabrikam.test'],
  [undefined, '*.fabrikam.test', 'mx.fabrikam.test'],
  [undefined, undefined, 'mx.fabrikam.test'],
  ['URI:https://mx.fabrikam.test/', undefined, 'mx.fabrikam.test'],
  // an IP host against the IP entries only, IPv6 in any spelling, mapped addresses apart
  ['IP Address:192.0.2.7', undefined, '192.0.2.7'],
  ['IP Address:192.0.2.7', undefined, '192.0.2.8'],
  ['DNS:192.0.2.7', '192.0.2.7', '192.0.2.7'],
  ['IP Address:2001:DB8:0:0:0:0:0:1', undefined, '2001:db8::1'],
  ['IP Address:2001:DB8:0:0:0:0:0:1', undefined, '2001:db8::2'],
  ['IP Address:192.0.2.7', undefined, '::ffff:192.0.2.7'],
  // Node quotes a value with a comma: it is one value, not a second entry
  ['URI:"https://x.test/?a, DNS:mx.fabrikam.test", DNS:other.test', undefined, 'mx.fabrikam.test'],
  ['DNS:"mx.fabrikam.test,", DNS:other.test', undefined, 'other.test'],
  ['DNS:"a\\u002cb.test"', undefined, 'a,b.test'],
];

t.test('certificateNamesHost says what checkServerIdentity says', async (t) => {
  for (const [subjectaltname, cn, host] of CASES) {
    const peer = { subjectaltname, subject: cn === undefined ? {} : { CN: cn } } as Peer;
    const node = checkServerIdentity(host, peer as PeerCertificate) === undefined;
    t.equal(certificateNamesHost(presented(peer), host), node, `${subjectaltname ?? '(no SAN)'} / CN=${String(cn)} for ${host}: Node says ${node ? 'valid' : 'not valid'}`);
  }
});

t.test('the names Node writes, split as Node splits them', async (t) => {
  t.same(splitAltNames('DNS:a.test, IP Address:192.0.2.1'), ['DNS:a.test', 'IP Address:192.0.2.1']);
  t.same(splitAltNames('URI:"x, DNS:evil.test", DNS:b.test'), ['URI:x, DNS:evil.test', 'DNS:b.test'], 'a quoted value holds its comma');
  t.same(splitAltNames('DNS:"unterminated, DNS:evil.test'), ['DNS:"unterminated, DNS:evil.test'], 'a quote Node would not write makes one entry of the rest, which names nothing');
  t.same(certificateNames({ subjectaltname: 'DNS:a.test, IP Address:192.0.2.1, email:x@a.test', subject: { CN: 'c.test' } } as Peer), { dnsNames: ['a.test'], ipAddresses: ['192.0.2.1'], commonNames: ['c.test'] });
  t.same(certificateNames({ subjectaltname: '', subject: undefined } as unknown as Peer), { dnsNames: [], ipAddresses: [], commonNames: [] }, 'nothing at all');
});

t.test('what a mismatch says, and pins', async (t) => {
  const withNames = presented({ subjectaltname: 'DNS:other.test, IP Address:192.0.2.1', subject: {} } as Peer);
  t.equal(nameMismatchText(['mx.test'], withNames), 'the certificate names none of mx.test (it has DNS:other.test, IP Address:192.0.2.1)');
  t.equal(nameMismatchText(['a.test', 'b.test'], presented({ subject: { CN: 'c.test' } } as Peer)), 'the certificate names none of a.test, b.test (it has CN=c.test)');
  t.equal(nameMismatchText(['a.test'], presented({ subject: {} } as Peer)), 'the certificate names none of a.test (it has CN=undefined)');
  t.ok(pinned(withNames, ['s'.repeat(64)]), 'the SPKI');
  t.ok(pinned(withNames, ['c'.repeat(64)]), 'the certificate');
  t.notOk(pinned(withNames, ['d'.repeat(64)]));
});
