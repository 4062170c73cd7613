// The JSON Schema's patterns against the loader's parsers, on many strings: valid seeds,
// their mutations, and random strings over the characters that matter. A pattern that
// accepts what its parser refuses (or refuses what it accepts) fails here with the string.
import t from 'tap';
import { isIP } from 'node:net';
import * as patterns from '../../src/config/schema-patterns.js';
import { parseCidr } from '../../src/config/cidr.js';
import { parseDomainPattern, parseHostName } from '../../src/config/domain-name.js';
import { parseHostPort } from '../../src/config/host-port.js';
import { parseDuration } from '../../src/config/duration.js';
import { parseFingerprint } from '../../src/config/fingerprint.js';
import { parseMailAddress } from '../../src/config/mail-address.js';
import { MAX_TIMER_MS } from '../../src/config/values.js';

/** mulberry32: the same strings on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeds, each mutated (a character inserted, dropped or replaced, once or twice), and random strings. */
function samples(seeds: string[], alphabet: string, count: number, seed = 1): string[] {
  const next = random(seed);
  const pick = (text: string) => text[Math.floor(next() * text.length)] ?? '';
  const mutate = (text: string): string => {
    const at = Math.floor(next() * (text.length + 1));
    const choice = next();
    if (choice < 0.34) return text.slice(0, at) + pick(alphabet) + text.slice(at);
    if (choice < 0.67) return text.slice(0, at) + text.slice(at + 1);
    return text.slice(0, at) + pick(alphabet) + text.slice(at + 1);
  };
  const out = [...seeds];
  for (let i = 0; i < count; i++) {
    const base = seeds[i % seeds.length] ?? '';
    out.push(next() < 0.5 ? mutate(base) : mutate(mutate(base)));
    out.push(Array.from({ length: 1 + Math.floor(next() * 12) }, () => pick(alphabet)).join(''));
  }
  return out;
}

/**
 * Every sample on which the pattern and the parser disagree (at most a few, for the
 * message). Where IDNA decides (punycode `xn--` labels, Unicode), the pattern only has
 * to accept what the parser accepts: it never refuses a good value, the loader refuses the rest.
 */
function disagreements(pattern: string, accepts: (text: string) => boolean, inputs: string[]): string[] {
  const regex = new RegExp(patterns.anchored(pattern), 'u');
  const idna = (text: string) => /(^|[.\s*])xn--/i.test(text) || /[^\x00-\x7f]/.test(text);
  return inputs.filter((input) => (idna(input) ? accepts(input) && !regex.test(input) : regex.test(input) !== accepts(input))).slice(0, 5);
}

t.test('decimalAtMost(n) matches exactly the numbers 0..n written without leading zeros', async (t) => {
  for (const max of [0, 1, 7, 9, 10, 32, 99, 100, 128, 255, 596, 1000, 35791, 65535, 2147483]) {
    const regex = new RegExp(patterns.anchored(patterns.decimalAtMost(max)));
    const wrong: string[] = [];
    for (let n = 0; n <= Math.min(max * 2 + 20, 200_000); n++) if (regex.test(String(n)) !== n <= max) wrong.push(String(n));
    for (const text of ['', '00', '01', `0${max}`, `${max}0`, '-1', '1.0']) if (regex.test(text) !== false) wrong.push(text);
    t.same(wrong, [], `0..${max}`);
  }
});

const IP_SEEDS = [
  '192.0.2.1', '0.0.0.0', '255.255.255.255', '10.0.0.1', '::', '::1', '2001:db8::1', 'fe80::1%eth0', '::ffff:192.0.2.1',
  '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:1.2.3.4', '1::8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', 'FE80::A', '2001:DB8:0:0:0:0:0:1',
];
const IP_ALPHABET = '0123456789abcdefABCDEFg.:%/[]x';

t.test('IP addresses: what node:net isIP accepts', async (t) => {
  const inputs = samples(IP_SEEDS, IP_ALPHABET, 20_000);
  t.same(disagreements(patterns.IP_ADDRESS, (text) => isIP(text) !== 0, inputs), []);
  t.same(disagreements(patterns.IPV6, (text) => isIP(text) === 6 && !text.includes('%'), inputs), [], 'IPv6 without a zone');
});

t.test('CIDR ranges: what parseCidr accepts', async (t) => {
  const seeds = ['10.0.0.0/8', '192.0.2.1', '0.0.0.0/0', '192.0.2.0/032', '::1/128', '2001:db8::/32', '::/0', '::ffff:10.0.0.0/104', '0:0:0:0:0:FFFF:a00:0/95', '0::0:ffff:a00:0/120', 'fe80::/10'];
  t.same(disagreements(patterns.CIDR, (text) => parseCidr(text).ok, samples(seeds, `${IP_ALPHABET}3`, 20_000)), []);
});

const NAME_SEEDS = [
  'mail.example.test', 'MX.Example.TEST.', 'a', '_dmarc.example.test', 'a-b.c_d.test', ' relay.test ', '1.2.3.4', '1.2.3.4.', '1.2.3.456',
  'xn--bcher-kva.test', `${'a'.repeat(63)}.test`, `${'a'.repeat(64)}.test`, `${'abcdefghi.'.repeat(25)}abc`, `${'abcdefghi.'.repeat(25)}abc.`, `${'abcdefghi.'.repeat(25)}abcd`,
];
const NAME_ALPHABET = 'ab09-_.A *:/@\t';

t.test('host names (ASCII): what parseHostName accepts, lengths and IP addresses included', async (t) => {
  t.same(disagreements(patterns.HOST_NAME, (text) => parseHostName(text) !== undefined, samples(NAME_SEEDS, NAME_ALPHABET, 20_000)), []);
});

t.test('host names (Unicode): whatever parseHostName accepts, the pattern accepts too', async (t) => {
  const inputs = samples(['bücher.test', 'ÜNÏ.test', 'a。b', 'a\u00adb.test', 'пример.испытание', '例え.テスト'], `${NAME_ALPHABET}üß。é`, 10_000);
  t.same(disagreements(patterns.HOST_NAME, (text) => parseHostName(text) !== undefined, inputs), []);
});

t.test('mail addresses: what parseMailAddress accepts', async (t) => {
  const seeds = ['postmaster@relay.test', 'tls-reports@Contoso.TEST.', "a.b+c!#$%&'*/=?^_`{|}~-@x.test", 'a..b@x.test', '.a@x.test', 'a@b@x.test', '@x.test', 'a@192.0.2.1'];
  t.same(disagreements(patterns.MAIL_ADDRESS, (text) => parseMailAddress(text) !== undefined, samples(seeds, `${NAME_ALPHABET}@+!'`, 20_000)), []);
});

t.test('domain patterns: what parseDomainPattern accepts, with and without "*"', async (t) => {
  const inputs = samples([...NAME_SEEDS, '*', '*.example.test', '*.', '*.*.test', ' *.x.test', '*. x.test'], `${NAME_ALPHABET}**`, 20_000);
  t.same(disagreements(patterns.domainPattern(true), (text) => parseDomainPattern(text) !== undefined, inputs), [], 'with "*"');
  t.same(disagreements(patterns.domainPattern(false), (text) => ![undefined, '*'].includes(parseDomainPattern(text)), inputs), [], 'without');
});

t.test('host[:port] and ip[:port]: what parseHostPort accepts', async (t) => {
  const seeds = [
    'mx.example.test', 'mx.example.test:2626', ' mx.test :25', '192.0.2.1:25', '192.0.2.1', '[2001:db8::1]:2626', '[::1]', '::1', '::1:25',
    '1:2:3:4:5:6:7:8:25', '[fe80::1%eth0]:25', 'fe80::1%eth0', 'mx.test:0', 'mx.test:65535', 'mx.test:65536', 'mx.test:00025', 'mx.test:000025', '[1.2.3.4]:25',
  ];
  const inputs = samples(seeds, `${IP_ALPHABET}${NAME_ALPHABET}56`, 20_000);
  for (const kind of ['name-or-ip', 'ip'] as const) {
    t.same(disagreements(patterns.hostPort(kind), (text) => parseHostPort(text, 25, kind) !== undefined, inputs), [], kind);
  }
});

t.test('durations: what parseDuration accepts, above 0 and up to the limit', async (t) => {
  const seeds = ['30s', '5m', '2h', '2d', '0s', '00m', '007h', '24d', '25d', '596h', '597h', '35791m', '35792m', '2147483s', '2147484s', '1.5h', '90', '1 d', '104249991d', '104249992d'];
  const inputs = samples(seeds, '0123456789smhdx. ', 20_000);
  for (const max of [MAX_TIMER_MS, Number.MAX_SAFE_INTEGER]) {
    const accepts = (text: string) => {
      const ms = parseDuration(text);
      return ms !== undefined && ms > 0 && ms <= max;
    };
    t.same(disagreements(patterns.duration(max), accepts, inputs), [], `at most ${max} ms`);
  }
});

t.test('fingerprints: what parseFingerprint accepts', async (t) => {
  const hex = 'ab'.repeat(32);
  const seeds = [`sha256:${hex}`, `SHA256:${hex.toUpperCase()}`, `sha256:${hex.match(/../g)!.join(':')}`, 'sha256:abcd', `sha1:${hex}`];
  t.same(disagreements(patterns.FINGERPRINT, (text) => parseFingerprint(text) !== undefined, samples(seeds, '0af:Sh2', 20_000)), []);
});
