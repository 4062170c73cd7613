import type { Node } from 'yaml';
import { fail, MapReader, type Field } from './reader.js';
import { boolean, cidr, domainPattern, listOf, text } from './values.js';
import { FirstOccurrences } from './unique.js';
import type { InboundConnector, InboundMatch, InboundRequire } from './types.js';

const INBOUND_KEYS = ['name', 'match', 'require', 'relay'] as const;
const MATCH_KEYS = ['ips', 'certificateNames', 'senderDomains'] as const;
const REQUIRE_KEYS = ['tls', 'certificateNames', 'ips'] as const;

// An empty list would be a condition nothing meets; absent means "no condition".
const NON_EMPTY = { nonEmpty: true };
const ipRanges = listOf(cidr, NON_EMPTY);
const certificateNames = listOf(domainPattern({ allowStar: false }), NON_EMPTY);
const senderDomains = listOf(domainPattern({ allowStar: true }), NON_EMPTY);

/** Omits absent keys: downstream reads "key present" as "condition given". */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function readMatch(map: MapReader): InboundMatch {
  return withoutUndefined({
    ips: map.read('ips', ipRanges),
    certificateNames: map.read('certificateNames', certificateNames),
    senderDomains: map.read('senderDomains', senderDomains),
  });
}

function readRequire(map: MapReader): InboundRequire {
  return withoutUndefined({
    tls: map.optional('tls', boolean, false),
    certificateNames: map.read('certificateNames', certificateNames),
    ips: map.read('ips', ipRanges),
  });
}

/** Client certificates and require.tls only exist on a listener that speaks TLS. */
function checkTlsAvailable(map: MapReader, keys: readonly string[], anyTlsListener: boolean): void {
  if (anyTlsListener) return;
  for (const key of keys.filter((k) => map.has(k))) {
    fail(map.fieldOf(key), map.keyPlaceOf(key), 'needs a listener with tls: starttls or implicit, and every listener has tls: none');
  }
}

function readConnector(node: Node, field: Field, anyTlsListener: boolean, names: FirstOccurrences): InboundConnector {
  const map = MapReader.open(field, node, INBOUND_KEYS, node);
  const name = map.required('name', text, '');
  if (map.has('name')) names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  const matchMap = map.section('match', MATCH_KEYS);
  const requireMap = map.section('require', REQUIRE_KEYS);
  const match = readMatch(matchMap);
  const require = readRequire(requireMap);
  const relay = map.optional('relay', boolean, false);
  checkTlsAvailable(matchMap, ['certificateNames'], anyTlsListener);
  checkTlsAvailable(requireMap, ['certificateNames', ...(require.tls ? ['tls'] : [])], anyTlsListener);
  // Anyone can claim any sender domain: relaying must rest on something a client cannot forge.
  const identified = [matchMap.has('ips'), matchMap.has('certificateNames'), requireMap.has('ips'), requireMap.has('certificateNames')];
  if (relay && !identified.some(Boolean)) {
    fail(map.fieldOf('relay'), map.placeOf('relay'), 'true needs match.ips, match.certificateNames, require.ips or require.certificateNames; otherwise this is an open relay');
  }
  return { name, match, require, relay };
}

export function readInbound(root: MapReader, anyTlsListener: boolean): InboundConnector[] {
  const names = new FirstOccurrences('inbound connector name');
  const item = (node: Node, field: Field) => readConnector(node, field, anyTlsListener, names);
  return root.optional('inbound', listOf(item), []);
}
