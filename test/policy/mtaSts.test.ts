import t from 'tap';
import { mxPatternMatches } from '../../src/policy/mtaSts.js';

// [MX host, policy mx pattern, matches] — RFC 8461 §4.1
const CASES: Array<[string, string, boolean]> = [
  ['mail.example.net', 'mail.example.net', true],
  ['mail.example.net', 'mx.example.net', false],
  // a wildcard covers exactly one left-most label (mailcow #6720 refused these outright)
  ['mail.example.net', '*.example.net', true],
  ['example.net', '*.example.net', false],
  ['a.mail.example.net', '*.example.net', false],
  ['mail.example.net', '*.mail.example.net', false],
  ['mail.evilexample.net', '*.example.net', false],
  ['mailexample.net', '*.example.net', false],
  ['.example.net', '*.example.net', false],
  // case and one trailing dot are free, on either side
  ['MAIL.Example.NET', 'mail.example.net', true],
  ['mail.example.net.', 'mail.example.net', true],
  ['mail.example.net', 'Mail.Example.Net.', true],
  ['MX1.Example.Net.', '*.EXAMPLE.net', true],
  ['mx1.example.net', '*.example.net.', true],
  // a pattern is not a suffix match, and `*` alone is no pattern of the RFC's
  ['mail.example.net', 'example.net', false],
  ['mail.example.net', '*', false],
];

t.test('mx patterns match as RFC 8461 §4.1 says', async (t) => {
  for (const [host, pattern, expected] of CASES) t.equal(mxPatternMatches(host, pattern), expected, `${host} against ${pattern}`);
});
