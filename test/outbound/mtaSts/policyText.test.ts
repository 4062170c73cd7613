import t from 'tap';
import { MAX_AGE_LIMIT, parseMtaStsPolicy } from '../../../src/outbound/mtaSts/policyText.js';

const valid = (text: string) => {
  const parsed = parseMtaStsPolicy(text);
  if (parsed.kind !== 'valid') throw new Error(`expected a valid policy, got: ${parsed.reason}`);
  return parsed.policy;
};
const reasonOf = (text: string): string => {
  const parsed = parseMtaStsPolicy(text);
  if (parsed.kind !== 'invalid') throw new Error(`expected an invalid policy, got ${JSON.stringify(parsed.policy)}`);
  return parsed.reason;
};

t.test('the RFC 8461 example, with LF or CRLF', async (t) => {
  const lines = ['version: STSv1', 'mode: enforce', 'mx: mail.example.com', 'mx: *.example.net', 'mx: backupmx.example.com', 'max_age: 604800'];
  const expected = { mode: 'enforce', mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'], maxAge: 604800 };
  t.same(valid(lines.join('\n')), expected, 'LF');
  t.same(valid(lines.join('\r\n') + '\r\n'), expected, 'CRLF, with a last line end');
  t.same(valid(lines.join('\n') + '\n'), expected, 'LF, with a last line end');
});

t.test('each mode; under none the mx may be left out', async (t) => {
  t.equal(valid('version: STSv1\nmode: testing\nmx: mx.example.test\nmax_age: 86400').mode, 'testing');
  t.same(valid('version: STSv1\nmode: none\nmax_age: 86400'), { mode: 'none', mx: [], maxAge: 86400 });
  t.match(reasonOf('version: STSv1\nmode: enforce\nmax_age: 86400'), /no mx field/);
  t.match(reasonOf('version: STSv1\nmode: testing\nmax_age: 86400'), /no mx field/);
});

t.test('field order is free, blanks around values and blank lines are passed over, unknown keys ignored', async (t) => {
  const policy = valid('\uFEFFmax_age:   3600  \n\nmx:\t*.Example.NET.\nextension_key-1.x: whatever: it says\nmode:enforce\nversion: STSv1\n\n');
  t.same(policy, { mode: 'enforce', mx: ['*.example.net'], maxAge: 3600 }, 'mx patterns in canonical form');
});

t.test('max_age over one year is clamped to it', async (t) => {
  t.equal(valid('version: STSv1\nmode: none\nmax_age: 9999999999').maxAge, MAX_AGE_LIMIT);
  t.equal(valid(`version: STSv1\nmode: none\nmax_age: ${MAX_AGE_LIMIT}`).maxAge, MAX_AGE_LIMIT);
  t.equal(valid('version: STSv1\nmode: none\nmax_age: 0').maxAge, 0);
});

t.test('what is wrong is said, every problem at once', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /no version field; no mode field; no max_age field; no mx field/],
    ['version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1', /version is "STSv2", not STSv1/],
    ['version: stsv1\nmode: enforce\nmx: a.test\nmax_age: 1', /version is "stsv1"/],
    ['version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 1', /mode is "Enforce", not enforce, testing or none/],
    ['version: STSv1\nmode: report\nmx: a.test\nmax_age: 1', /mode is "report"/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1d', /max_age "1d" is not a number of seconds/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1', /max_age "-1"/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 12345678901', /max_age "12345678901"/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age:', /max_age "" is not/],
    ['version: STSv1\nmode: enforce\nmode: testing\nmx: a.test\nmax_age: 1', /mode is given twice \(lines 2 and 3\)/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\nmax_age: 2', /max_age is given twice/],
    ['version: STSv1\nmode: enforce\nmx: mx*.example.com\nmax_age: 1', /line 3: mx "mx\*\.example\.com" is neither a host name nor \*\. and a domain/],
    ['version: STSv1\nmode: enforce\nmx: *.*.example.com\nmax_age: 1', /mx "\*\.\*\.example\.com"/],
    ['version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1', /mx "a\.\.b"/],
    ['version: STSv1\nmode: enforce\nmx: -a.b\nmax_age: 1', /mx "-a\.b"/],
    ['version: STSv1\nmode: enforce\nmx: a_b.test\nmax_age: 1', /mx "a_b\.test"/],
    ['version: STSv1\nmode: enforce\nmx:\nmax_age: 1', /mx "" is neither/],
    [`version: STSv1\nmode: enforce\nmx: ${'a'.repeat(64)}.test\nmax_age: 1`, /mx "a{64}\.test"/],
    [`version: STSv1\nmode: enforce\nmx: ${Array(64).fill('abc').join('.')}\nmax_age: 1`, /mx "(abc\.)+abc"/],
    ['version: STSv1\nmode enforce\nmx: a.test\nmax_age: 1', /line 2 is not "key: value"/],
    ['version: STSv1\n: enforce\nmx: a.test\nmax_age: 1', /line 2 is not "key: value"/],
    ['version: STSv1\nmode: enforce\rmx: a.test\nmax_age: 1', /line 2 is not "key: value"/],
    ['<html><body>Not found</body></html>', /line 1 is not "key: value"/],
  ];
  for (const [text, reason] of cases) t.match(reasonOf(text), reason, JSON.stringify(text));
});
