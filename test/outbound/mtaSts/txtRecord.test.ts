import t from 'tap';
import { readStsRecords } from '../../../src/outbound/mtaSts/txtRecord.js';

t.test('one v=STSv1 record names the policy id; other records are not ours', async (t) => {
  t.same(readStsRecords(['v=STSv1; id=20160831085700Z;']), { kind: 'record', id: '20160831085700Z' });
  t.same(readStsRecords(['v=spf1 -all', 'v=STSv1; id=abc', 'google-site-verification=x']), { kind: 'record', id: 'abc' });
  t.same(readStsRecords(['v=STSv1;id=A1']), { kind: 'record', id: 'A1' }, 'no blanks');
  t.same(readStsRecords(['v=STSv1 ;\tid = A1 ; ext_1=some-value;']), { kind: 'record', id: 'A1' }, 'blanks around delimiters, an extension, a last ;');
  t.same(readStsRecords([`v=STSv1; id=${'x'.repeat(32)}`]), { kind: 'record', id: 'x'.repeat(32) });
});

t.test('none, two, or a broken record: no available policy, and why', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /no TXT record begins with v=STSv1/],
    [['v=spf1 -all'], /no TXT record begins with v=STSv1/],
    [['v=STSv10; id=1'], /no TXT record begins with v=STSv1/],
    [['V=STSv1; id=1'], /no TXT record begins with v=STSv1/],
    [[' v=STSv1; id=1'], /no TXT record begins with v=STSv1/],
    [['v=STSv1; id=1', 'v=STSv1; id=2'], /2 TXT records begin with v=STSv1; RFC 8461 §3.1 needs exactly one/],
    [['v=STSv1; id=1', 'v=STSv1; id=1'], /2 TXT records/],
    [['v=STSv1'], /has no id/],
    [['v=STSv1;'], /has no id/],
    [['v=STSv1; ext=1'], /has no id/],
    [['v=STSv1; id='], /has an id that is not 1 to 32 letters and digits/],
    [['v=STSv1; id=2016-08-31'], /has an id that is not/],
    [[`v=STSv1; id=${'x'.repeat(33)}`], /has an id that is not/],
    [['v=STSv1; id=1; id=2'], /has two ids/],
    [['v=STSv1;; id=1'], /a field "" that is not name=value/],
    [['v=STSv1; id'], /a field "id" that is not name=value/],
    [['v=STSv1; id=1; ext=a;b'], /a field "b" that is not name=value/],
    [['v=STSv1; id=1; ext=a b'], /a field ext with a value that is not visible ASCII/],
    [['v=STSv1; id=1; ext='], /a field ext with a value/],
  ];
  for (const [records, reason] of cases) {
    const record = readStsRecords(records);
    t.equal(record.kind, 'none', JSON.stringify(records));
    if (record.kind === 'none') t.match(record.reason, reason, JSON.stringify(records));
  }
});
