import t from 'tap';
import { checkServerIdentity } from 'node:tls';
import { certificateNameCovers, certificateNameMatches, domainPatternMatches, domainPatternSpecificity } from '../../src/policy/names.js';

/** Node's verdict for a certificate carrying one DNS name, as outbound `verify` gets it. */
const nodeSays = (certificateName: string, host: string): boolean =>
  checkServerIdentity(host, { subject: {}, subjectaltname: `DNS:${certificateName}` } as never) === undefined;

// [name in the certificate, host name (ASCII, as the config normalises it)]
const CERTIFICATE_CASES: Array<[string, string]> = [
  ['mx.contoso.test', 'mx.contoso.test'],
  ['mx.contoso.test', 'mx2.contoso.test'],
  ['contoso.test', 'mx.contoso.test'],
  ['mx.contoso.test', 'contoso.test'],
  // case and trailing dots
  ['MX.Contoso.TEST', 'mx.contoso.test'],
  ['mx.contoso.test', 'MX.CONTOSO.test'],
  ['mx.contoso.test.', 'mx.contoso.test'],
  ['mx.contoso.test', 'mx.contoso.test.'],
  ['*.contoso.test.', 'mx.contoso.test'],
  ['F*.Contoso.Test', 'fab.contoso.test'],
  // a wildcard is one left-most label: not the parent, not two labels
  ['*.contoso.test', 'mx.contoso.test'],
  ['*.contoso.test', 'contoso.test'],
  ['*.contoso.test', 'a.b.contoso.test'],
  ['*.b.contoso.test', 'a.b.contoso.test'],
  ['*.contoso.test', 'mx.fabrikam.test'],
  ['*.contoso.test', 'mx.evilcontoso.test'],
  // never right under a top-level domain, never alone
  ['*.test', 'contoso.test'],
  ['*', 'localhost'],
  ['*.a.b', 'x.a.b'],
  // partial wildcards in the left-most label
  ['f*.contoso.test', 'fabrikam.contoso.test'],
  ['f*.contoso.test', 'f.contoso.test'],
  ['f*.contoso.test', 'mx.contoso.test'],
  ['*x.contoso.test', 'mx.contoso.test'],
  ['m*x.contoso.test', 'mx.contoso.test'],
  ['m*x.contoso.test', 'mix.contoso.test'],
  ['m*x.contoso.test', 'max.fabrikam.test'],
  ['mx*.contoso.test', 'mx.contoso.test'],
  ['ab*ba.contoso.test', 'aba.contoso.test'],
  // one wildcard, in the left-most label only
  ['**.contoso.test', 'mx.contoso.test'],
  ['*.*.contoso.test', 'a.b.contoso.test'],
  ['m*.c*.test', 'mx.contoso.test'],
  ['mx.*.test', 'mx.contoso.test'],
  // IDN: a wildcard in an A-label is no wildcard; U-labels in a certificate never match
  ['xn--bcher-kva.test', 'xn--bcher-kva.test'],
  ['xn--bcher-kva.contoso.test', 'xn--bcher-kva.contoso.test'],
  ['*.contoso.test', 'xn--bcher-kva.contoso.test'],
  ['xn--*.contoso.test', 'xn--bcher-kva.contoso.test'],
  ['*xn--.contoso.test', 'axn--.contoso.test'],
  ['x*.contoso.test', 'xn--bcher-kva.contoso.test'],
  ['*.xn--bcher-kva.test', 'mx.xn--bcher-kva.test'],
  ['bücher.contoso.test', 'xn--bcher-kva.contoso.test'],
  ['*.bücher.test', 'mx.xn--bcher-kva.test'],
  // malformed names match nothing
  ['mx..contoso.test', 'mx..contoso.test'],
  ['.contoso.test', '.contoso.test'],
  ['mx contoso.test', 'mx contoso.test'],
  ['', 'mx.contoso.test'],
];

t.test("certificateNameCovers agrees with Node's checkServerIdentity", async (t) => {
  for (const [name, host] of CERTIFICATE_CASES) {
    const expected = nodeSays(name, host);
    t.equal(certificateNameCovers(name, host), expected, `certificate ${JSON.stringify(name)} ${expected ? 'covers' : 'does not cover'} ${host}`);
    if (!host.endsWith('.') && host === host.toLowerCase() && !host.includes(' ') && !host.includes('..') && !host.startsWith('.')) {
      t.equal(certificateNameMatches(host, [name]), expected, `configured ${host} against certificate ${JSON.stringify(name)}`);
    }
  }
});

t.test('the cases the issue names', async (t) => {
  t.notOk(certificateNameMatches('contoso.test', ['*.test']), '*.test does not cover contoso.test');
  t.ok(certificateNameMatches('mx.contoso.test', ['*.contoso.test']));
  t.notOk(certificateNameMatches('contoso.test', ['*.contoso.test']), 'never the parent');
  t.notOk(certificateNameMatches('a.b.contoso.test', ['*.contoso.test']), 'never two labels');
});

t.test('configured certificate names: exact names and any-depth patterns', async (t) => {
  const cases: Array<[string, string[], boolean]> = [
    ['mail.fabrikam.test', ['mail.fabrikam.test'], true],
    ['mail.fabrikam.test', ['MAIL.Fabrikam.Test.'], true],
    ['mail.fabrikam.test', ['other.fabrikam.test', 'mail.fabrikam.test'], true],
    ['mail.fabrikam.test', ['fabrikam.test'], false],
    ['mail.fabrikam.test', ['*.fabrikam.test'], true],
    ['a.mail.fabrikam.test', ['*.fabrikam.test'], false],
    ['mail.fabrikam.test', ['*.evil.test'], false],
    ['bücher.test', ['xn--bcher-kva.test'], true],
    ['xn--bcher-kva.test', ['bücher.test'], false],
    // a configured pattern is any depth below its base, as everywhere in the config
    ['*.fabrikam.test', ['mx1.fabrikam.test'], true],
    ['*.fabrikam.test', ['a.b.fabrikam.test'], true],
    ['*.fabrikam.test', ['fabrikam.test'], false],
    ['*.fabrikam.test', ['evilfabrikam.test'], false],
    ['*.fabrikam.test', ['mx.evilfabrikam.test'], false],
    ['*.Fabrikam.test', ['MX1.fabrikam.TEST.'], true],
    ['*.bücher.test', ['mx.xn--bcher-kva.test'], true],
    // a certificate wildcard satisfies a pattern when every name it covers lies under it
    ['*.fabrikam.test', ['*.fabrikam.test'], true],
    ['*.fabrikam.test', ['*.b.fabrikam.test'], true],
    ['*.fabrikam.test', ['f*.fabrikam.test'], true],
    ['*.fabrikam.test', ['*.test'], false],
    ['*.b.fabrikam.test', ['*.fabrikam.test'], false],
    ['*.fabrikam.test', ['*.evilfabrikam.test'], false],
    ['*.fabrikam.test', ['a.*.fabrikam.test'], false],
    ['*.fabrikam.test', ['**.fabrikam.test'], false],
    ['*.fabrikam.test', ['xn--*.fabrikam.test'], false],
    ['*.fabrikam.test', ['mx..fabrikam.test'], false],
    ['*.fabrikam.test', ['mx.bücher.fabrikam.test'], false],
    ['*.fabrikam.test', [], false],
  ];
  for (const [pattern, names, expected] of cases) {
    t.equal(certificateNameMatches(pattern, names), expected, `${pattern} vs ${names.join(',') || 'no names'}`);
  }
});

t.test('domain patterns (domains, senderDomains, acceptedDomains): any depth below the base', async (t) => {
  t.ok(domainPatternMatches('*.fabrikam.test', 'mx.fabrikam.test'));
  t.ok(domainPatternMatches('*.fabrikam.test', 'a.b.fabrikam.test'), 'any depth, unlike a certificate wildcard');
  t.notOk(domainPatternMatches('*.fabrikam.test', 'fabrikam.test'), 'not the base');
  t.notOk(domainPatternMatches('*.fabrikam.test', 'evilfabrikam.test'), 'a label boundary');
  t.ok(domainPatternMatches('*', 'anything.test'));
  t.ok(domainPatternMatches('fabrikam.test', 'fabrikam.test'));
  t.notOk(domainPatternMatches('fabrikam.test', 'mx.fabrikam.test'));
  const exact = domainPatternSpecificity('a.b.test', 'a.b.test')!;
  const deep = domainPatternSpecificity('*.x.b.test', 'a.x.b.test')!;
  const shallow = domainPatternSpecificity('*.b.test', 'a.x.b.test')!;
  t.ok(exact > deep && deep > shallow && shallow > domainPatternSpecificity('*', 'a.x.b.test')!, 'exact over longer base over shorter base over *');
});
