// The _smtp._tls TXT record (RFC 8460 §3) read into where reports go, record by record.
import t from 'tap';
import { MAX_DESTINATIONS, readReportingPolicy } from '../../src/tlsRpt/reportingPolicy.js';

t.test('a record with mailto: and https: URIs', async (t) => {
  const policy = readReportingPolicy(['v=spf1 -all', 'v=TLSRPTv1; rua=mailto:tlsrpt@Example.TEST , https://reports.example.test/v1?x=1;']);
  t.match(policy, { kind: 'policy', skipped: [] });
  if (policy.kind !== 'policy') return;
  t.same(
    policy.destinations.map((destination) => (destination.kind === 'mailto' ? destination.address : destination.url.href)),
    ['tlsrpt@example.test', 'https://reports.example.test/v1?x=1'],
    'in the record order, the address domain normalised',
  );
});

t.test('mailto: with %2C and header fields, unknown fields ignored', async (t) => {
  const policy = readReportingPolicy(['v=TLSRPTv1;ext=1;rua=mailto:a%2Bb@example.test?subject=hi']);
  t.match(policy, { kind: 'policy', destinations: [{ kind: 'mailto', address: 'a+b@example.test' }] });
});

t.test(`five URIs: the first ${MAX_DESTINATIONS} usable ones get reports, every other is skipped with its reason`, async (t) => {
  const policy = readReportingPolicy(['v=TLSRPTv1; rua=http://plain.example.test/,mailto:one@example.test,https://two.example.test/,mailto:three@example.test,https://four.example.test/']);
  t.match(policy, {
    kind: 'policy',
    destinations: [{ uri: 'mailto:one@example.test' }, { uri: 'https://two.example.test/' }],
    skipped: [
      { uri: 'http://plain.example.test/', reason: 'the scheme http: is neither mailto: nor https: (RFC 8460 §3)' },
      { uri: 'mailto:three@example.test', reason: `the relay reports to the first ${MAX_DESTINATIONS} URIs of a rua` },
      { uri: 'https://four.example.test/', reason: `the relay reports to the first ${MAX_DESTINATIONS} URIs of a rua` },
    ],
  });
});

const unusable: Array<[string, string[], RegExp]> = [
  ['no record of ours', ['v=spf1 -all', 'v=TLSRPTv10; rua=mailto:a@example.test'], /^no TXT record begins with v=TLSRPTv1$/],
  ['two records', ['v=TLSRPTv1; rua=mailto:a@example.test', 'v=TLSRPTv1; rua=mailto:b@example.test'], /2 TXT records begin with v=TLSRPTv1/],
  ['no rua', ['v=TLSRPTv1;'], /malformed: it has no rua field/],
  ['rua without a value', ['v=TLSRPTv1; rua'], /malformed: the field "rua" is not name=value/],
  ['two rua fields', ['v=TLSRPTv1; rua=mailto:a@example.test; rua=mailto:b@example.test'], /malformed: it has two rua fields/],
  ['an empty URI', ['v=TLSRPTv1; rua=mailto:a@example.test,,mailto:b@example.test'], /malformed: its rua has an empty URI/],
  ['a bad extension value', ['v=TLSRPTv1; rua=mailto:a@example.test; x=a b'], /malformed: the field x has a value that is not visible ASCII/],
  ['no usable URI', ['v=TLSRPTv1; rua=mailto:not-an-address,https://user:pw@example.test/,ftp://example.test/'], /names no URI the relay can report to \(mailto:not-an-address: not a mailto: URI with one mail address; https:\/\/user:pw@example\.test\/: an https: URL needs a host and no user or password; ftp:/],
];
for (const [name, records, reason] of unusable) {
  t.test(`unusable: ${name}`, async (t) => {
    const policy = readReportingPolicy(records);
    t.equal(policy.kind, name === 'no record of ours' ? 'none' : 'invalid');
    t.match(policy, { reason });
  });
}
