import t from 'tap';
import { certificateNameMatches } from '../../src/policy/names.js';

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
