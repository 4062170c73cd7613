import type { Node } from 'yaml';
import { fail, MapReader, type Field } from './reader.js';
import { listOf } from './values.js';
import { FirstOccurrences } from './unique.js';
import { readKey, readKeys } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { CONFIG_KEYS, INBOUND_KEYS, MATCH_KEYS, REQUIRE_KEYS } from './keys.js';
import type { InboundConnector, InboundMatch, InboundRequire } from './types.js';

/** Omits absent keys: downstream reads "key present" as "condition given". */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// An empty list would be a condition nothing meets (the key table says not empty); absent means "no condition".
function readMatch(map: MapReader): InboundMatch {
  return withoutUndefined(readKeys(map, MATCH_KEYS));
}

function readRequire(map: MapReader): InboundRequire {
  return withoutUndefined(readKeys(map, REQUIRE_KEYS));
}

/** Client certificates and require.tls only exist on a listener that speaks TLS. */
function checkTlsAvailable(map: MapReader, keys: readonly string[], anyTlsListener: boolean): void {
  if (anyTlsListener) return;
  for (const key of keys.filter((k) => map.has(k))) {
    fail(map.fieldOf(key), map.keyPlaceOf(key), 'needs a listener with tls: starttls or implicit, and every listener has tls: none');
  }
}

function readConnector(node: Node, field: Field, anyTlsListener: boolean, names: FirstOccurrences): InboundConnector {
  const map = MapReader.open(field, node, keyNames(INBOUND_KEYS), node);
  const name = readKey(map, INBOUND_KEYS, 'name') ?? '';
  if (map.has('name')) names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  const matchMap = map.section('match', keyNames(MATCH_KEYS));
  const requireMap = map.section('require', keyNames(REQUIRE_KEYS));
  const match = readMatch(matchMap);
  const require = readRequire(requireMap);
  const relay = readKey(map, INBOUND_KEYS, 'relay');
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
  return root.optional('inbound', listOf(item, { nonEmpty: CONFIG_KEYS.inbound.nonEmpty }), []);
}
