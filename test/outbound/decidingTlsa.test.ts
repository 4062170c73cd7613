// Which TLSA base domain decides for an MX host that is a secure CNAME (RFC 7672 §2.2.3):
// the expanded name first, the host's own second; a failure is never passed over.
import t from 'tap';
import { decidingTlsa, type TlsaAnswer } from '../../src/outbound/publishedLookups.js';
import type { Lookup } from '../../src/outbound/resolver.js';
import type { TlsaRecord } from '../../src/tls/dane.js';

const record: TlsaRecord = { usage: 3, selector: 1, matchingType: 1, data: Buffer.alloc(32, 1) };
const lookups: Record<string, Lookup<TlsaRecord>> = {
  secure: { kind: 'found', records: [record], name: 'x', secure: true, ttl: 60 },
  insecure: { kind: 'found', records: [record], name: 'x', secure: false, ttl: 60 },
  denied: { kind: 'nodata', secure: true, ttl: 60 },
  absent: { kind: 'nxdomain', secure: true, ttl: 60 },
  failed: { kind: 'temporary', error: 'SERVFAIL' },
};
const expanded = (kind: string): TlsaAnswer => ({ base: 'host.example.test', owner: '_25._tcp.host.example.test', lookup: lookups[kind]! });
const own = (kind: string): TlsaAnswer => ({ base: 'mx.example.test', owner: '_25._tcp.mx.example.test', lookup: lookups[kind]! });

// [expanded name's answer, host's own answer, which decides]
const table: Array<[string, string, 'expanded' | 'own']> = [
  ['secure', 'secure', 'expanded'],
  ['secure', 'failed', 'expanded'],
  ['failed', 'secure', 'expanded'],
  ['denied', 'secure', 'own'],
  ['absent', 'secure', 'own'],
  ['insecure', 'secure', 'own'],
  ['denied', 'failed', 'own'],
  ['insecure', 'denied', 'own'],
  ['denied', 'insecure', 'own'],
];

t.test('the expanded name first; a failure or a validated RRset decides, else the host\'s own answer', async (t) => {
  for (const [atExpanded, atOwn, decides] of table) {
    const candidates = [expanded(atExpanded), own(atOwn)] as const;
    t.equal(decidingTlsa(candidates), decides === 'expanded' ? candidates[0] : candidates[1], `${atExpanded} / ${atOwn}: ${decides}`);
  }
  const alone = own('denied');
  t.equal(decidingTlsa([alone]), alone, 'one candidate (no CNAME) decides by itself');
});
