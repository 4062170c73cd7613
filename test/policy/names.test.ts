import t from 'tap';
import { certificateNameMatches } from '../../src/policy/names.js';
import { ipInRanges } from '../../src/policy/ipRanges.js';

t.test('certificate name patterns', async (t) => {
  const cases: Array<[string, string[], boolean]> = [
    ['mail.fabrikam.test', ['mail.fabrikam.test'], true],
    ['mail.fabrikam.test', ['MAIL.Fabrikam.Test.'], true],
    ['mail.fabrikam.test', ['other.fabrikam.test', 'mail.fabrikam.test'], true],
    ['mail.fabrikam.test', ['fabrikam.test'], false],
    ['*.fabrikam.test', ['mx1.fabrikam.test'], true],
    ['*.fabrikam.test', ['a.b.fabrikam.test'], true],
    ['*.fabrikam.test', ['fabrikam.test'], false],
    // a wildcard certificate for the same zone satisfies a wildcard pattern
    ['*.fabrikam.test', ['*.fabrikam.test'], true],
    ['mail.fabrikam.test', ['*.fabrikam.test'], true],
    ['a.mail.fabrikam.test', ['*.fabrikam.test'], false],
    ['mail.fabrikam.test', ['*.evil.test'], false],
    ['bücher.test', ['xn--bcher-kva.test'], true],
  ];
  for (const [pattern, names, expected] of cases) {
    t.equal(certificateNameMatches(pattern, names), expected, `${pattern} vs ${names.join(',')}`);
  }
});

t.test('CIDR ranges', async (t) => {
  t.ok(ipInRanges('10.1.2.3', ['10.0.0.0/8']));
  t.notOk(ipInRanges('11.1.2.3', ['10.0.0.0/8']));
  t.ok(ipInRanges('::ffff:10.1.2.3', ['10.0.0.0/8']), 'mapped IPv4');
  t.ok(ipInRanges('2001:db8::5', ['2001:db8::/32']));
  t.notOk(ipInRanges('2001:db9::5', ['2001:db8::/32']));
  t.ok(ipInRanges('192.0.2.1', ['192.0.2.1']), 'bare address is a /32');
  t.notOk(ipInRanges('not-an-ip', ['0.0.0.0/0']));
});
