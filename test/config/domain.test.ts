import t from 'tap';
import { domainOfAddress, normalizeDomain } from '../../src/config/domain.js';

t.test('one canonical form: punycode, lower case, no trailing dot', async (t) => {
  const same: Array<[string, string]> = [
    ['Contoso.TEST', 'contoso.test'],
    ['contoso.test.', 'contoso.test'],
    ['bücher.test', 'xn--bcher-kva.test'],
    ['XN--BCHER-KVA.test', 'xn--bcher-kva.test'],
    ['BÜCHER.TEST.', 'xn--bcher-kva.test'],
    ['*.Fabrikam.test', '*.fabrikam.test'],
    ['*', '*'],
  ];
  for (const [input, canonical] of same) t.equal(normalizeDomain(input), canonical, input);
});

t.test('strings that are not domains are refused, not truncated', async (t) => {
  for (const input of ['', '.', 'a..b', 'contoso.test/x', 'contoso.test?x', 'contoso.test#x', 'contoso.test\\x', 'contoso.test:25', 'con toso.test', 'a@b.test', '[192.0.2.1]']) {
    t.equal(normalizeDomain(input), undefined, JSON.stringify(input));
  }
  t.equal(domainOfAddress('user@contoso.test/evil'), undefined);
  t.equal(domainOfAddress('User@Bücher.Test'), 'xn--bcher-kva.test');
});
