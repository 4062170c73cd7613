import t from 'tap';
import { BlockList } from 'node:net';
import { ipInRanges, unmapIpv4 } from '../../src/policy/ipRanges.js';

t.test("Node's BlockList alone matches IPv4 addresses against IPv6 subnets (why the families are kept apart)", async (t) => {
  const list = new BlockList();
  list.addSubnet('::', 0, 'ipv6');
  t.ok(list.check('10.1.2.3', 'ipv4'), 'BlockList: ::/0 holds 10.1.2.3 (as ::ffff:10.1.2.3)');
  t.notOk(ipInRanges('10.1.2.3', ['::/0']), 'the relay: ::/0 holds no IPv4 client');
});

t.test('a client in and out of every form of range the loader accepts', async (t) => {
  const cases: Array<[ip: string, ranges: string[], inside: boolean]> = [
    ['10.1.2.3', ['10.0.0.0/8'], true],
    ['11.1.2.3', ['10.0.0.0/8'], false],
    ['192.0.2.1', ['192.0.2.1'], true],
    ['192.0.2.2', ['192.0.2.1'], false],
    ['192.0.2.1', ['192.0.2.1/32'], true],
    ['2001:db8::5', ['2001:db8::/32'], true],
    ['2001:db9::5', ['2001:db8::/32'], false],
    ['::1', ['::1'], true],
    ['::2', ['::1'], false],
    ['::1', ['::/0'], true],
    // IPv6 ranges hold IPv6 clients only, whatever their size
    ['10.1.2.3', ['::/0'], false],
    ['10.1.2.3', ['::/80'], false],
    ['::ffff:10.1.2.3', ['::/0'], false],
    // a client written IPv4-mapped is its IPv4 address, in either spelling
    ['::ffff:10.1.2.3', ['10.0.0.0/8'], true],
    ['::ffff:a01:203', ['10.0.0.0/8'], true],
    ['::FFFF:10.1.2.3', ['11.0.0.0/8'], false],
    // IPv4-mapped ranges are the IPv4 ranges they name, in either spelling
    ['10.1.2.3', ['::ffff:10.0.0.0/104'], true],
    ['11.1.2.3', ['::ffff:10.0.0.0/104'], false],
    ['::ffff:10.1.2.3', ['::ffff:a00:0/104'], true],
    ['11.1.2.3', ['::ffff:a00:0/104'], false],
    ['203.0.113.9', ['::ffff:0:0/96'], true],
    ['2001:db8::5', ['::ffff:0:0/96'], false],
    ['127.0.0.1', ['::ffff:127.0.0.1'], true],
    ['127.0.0.2', ['::ffff:127.0.0.1'], false],
    // IPv4 ranges hold no IPv6 client
    ['::1', ['0.0.0.0/0'], false],
    ['10.1.2.3', ['2001:db8::/32', '10.0.0.0/8'], true],
    ['not-an-ip', ['0.0.0.0/0', '::/0'], false],
  ];
  for (const [ip, ranges, inside] of cases) t.equal(ipInRanges(ip, ranges), inside, `${ip} ${inside ? 'in' : 'not in'} ${ranges.join(', ')}`);
});

t.test('unmapIpv4: one spelling per client', async (t) => {
  t.equal(unmapIpv4('::ffff:127.0.0.1'), '127.0.0.1');
  t.equal(unmapIpv4('::ffff:7f00:1'), '127.0.0.1');
  t.equal(unmapIpv4('0:0:0:0:0:ffff:7f00:2'), '127.0.0.2');
  t.equal(unmapIpv4('2001:DB8::1'), '2001:db8::1');
  t.equal(unmapIpv4('::1'), '::1');
  t.equal(unmapIpv4('192.0.2.1'), '192.0.2.1');
});
