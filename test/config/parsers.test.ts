import t from 'tap';
import { parseCidr } from '../../src/config/cidr.js';
import { parseFingerprint } from '../../src/config/fingerprint.js';
import { parseHostPort } from '../../src/config/host-port.js';
import { parseDomainPattern, parseHostName } from '../../src/config/domain-name.js';
import { closestKey } from '../../src/config/closest-key.js';

t.test('host[:port] forms', async (t) => {
  const good: Array<[string, { host: string; port: number }]> = [
    ['mx.example.test', { host: 'mx.example.test', port: 25 }],
    ['MX.Example.TEST.:2626', { host: 'mx.example.test', port: 2626 }],
    ['bücher.test', { host: 'xn--bcher-kva.test', port: 25 }],
    ['192.0.2.1:2626', { host: '192.0.2.1', port: 2626 }],
    ['[::1]:2626', { host: '::1', port: 2626 }],
    ['[2001:DB8::1]', { host: '2001:db8::1', port: 25 }],
    ['2001:db8::1', { host: '2001:db8::1', port: 25 }],
    ['mx.example.test:65535', { host: 'mx.example.test', port: 65535 }],
  ];
  for (const [text, want] of good) t.same(parseHostPort(text, 25, 'name-or-ip'), want, text);
  const bad = ['', 'mx.example.test:', 'mx.example.test:0', 'mx.example.test:65536', 'mx.example.test:2x', '[::1]x', '[192.0.2.1]:25',
    '[mx.test]:25', 'a b.test', 'mx..test', '*.example.test', 'fe80::1%eth0', 'a:b:25x', '-mx.test'];
  for (const text of bad) t.equal(parseHostPort(text, 25, 'name-or-ip'), undefined, JSON.stringify(text));
});

t.test('ip[:port] refuses names', async (t) => {
  t.same(parseHostPort('192.0.2.53', 53, 'ip'), { host: '192.0.2.53', port: 53 });
  t.same(parseHostPort('[2001:db8::53]:5353', 53, 'ip'), { host: '2001:db8::53', port: 5353 });
  t.equal(parseHostPort('ns.example.test', 53, 'ip'), undefined);
});

t.test('CIDR ranges', async (t) => {
  const good: Array<[string, string]> = [
    ['127.0.0.1/32', '127.0.0.1/32'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['::1/128', '::1/128'],
    ['::1', '::1/128'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['2001:db8:0:0::0/48', '2001:db8::/48'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['::/0', '::/0'],
    // IPv4-mapped ranges are the IPv4 ranges they name, in either spelling
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['::FFFF:a00:0/104', '10.0.0.0/8'],
    ['0:0:0:0:0:ffff:c000:200/120', '192.0.2.0/24'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['::ffff:127.0.0.1', '127.0.0.1/32'],
    ['::ffff:127.0.0.1/128', '127.0.0.1/32'],
    // IPv4-compatible (deprecated) addresses are plain IPv6
    ['::10.0.0.0/104', '::a00:0/104'],
  ];
  for (const [text, want] of good) t.match(parseCidr(text), { ok: true, range: want }, text);
  for (const text of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0/8', '300.1.1.1', 'fe80::1%eth0/64', '10.0.0.0/-1', '10.0.0.0/0x8', 'localhost', '::ffff:10.0.0.0/129']) {
    t.same(parseCidr(text), { ok: false }, text);
  }
  t.same(parseCidr('::ffff:10.0.0.0/95'), {
    ok: false,
    why: 'an IPv4-mapped range needs a prefix of /96 or more (::ffff:0:0/96 is every IPv4 address); /95 also covers IPv6 addresses',
  }, 'a mapped range that would spill into IPv6 is refused with the reason');
});

t.test('sha256 fingerprints', async (t) => {
  const hex = 'ab'.repeat(32);
  t.equal(parseFingerprint(`sha256:${hex}`), hex);
  t.equal(parseFingerprint(`SHA256:${hex.toUpperCase()}`), hex);
  t.equal(parseFingerprint(`sha256:${Array(32).fill('AB').join(':')}`), hex);
  for (const text of [hex, `sha1:${hex}`, `sha256:${hex.slice(2)}`, `sha256:${hex}00`, `sha256:${'zz'.repeat(32)}`, `sha256::${hex}`, `sha256:${Array(32).fill('ab').join('::')}`]) {
    t.equal(parseFingerprint(text), undefined, text);
  }
});

t.test('host names and domain patterns', async (t) => {
  t.equal(parseHostName('Mail.Example.TEST.'), 'mail.example.test');
  t.equal(parseHostName('bücher.test'), 'xn--bcher-kva.test');
  t.equal(parseHostName('localhost'), 'localhost');
  for (const text of ['', '.', 'a..b', 'a b', '-a.test', 'a-.test', '192.0.2.1', '*.a.test', `${'a'.repeat(64)}.test`, 'a/b']) {
    t.equal(parseHostName(text), undefined, JSON.stringify(text));
  }
  t.equal(parseDomainPattern('*'), '*');
  t.equal(parseDomainPattern('*.Fabrikam.TEST'), '*.fabrikam.test');
  t.equal(parseDomainPattern('*.bücher.test'), '*.xn--bcher-kva.test');
  for (const text of ['*.*.test', 'a.*.test', '*a.test', '**', '*.']) t.equal(parseDomainPattern(text), undefined, text);
});

t.test('typo suggestions', async (t) => {
  const keys = ['smartHosts', 'tls', 'tlsNames', 'plaintextFallback', 'log'];
  t.equal(closestKey('smarthosts', keys), 'smartHosts');
  t.equal(closestKey('smartHost', keys), 'smartHosts');
  t.equal(closestKey('tlsname', keys), 'tlsNames');
  t.equal(closestKey('plaintextFalback', keys), 'plaintextFallback');
  t.equal(closestKey('tsl', keys), undefined, 'a transposition in a short key is too far to guess');
  t.equal(closestKey('queue', keys), undefined);
});
