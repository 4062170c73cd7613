import type { Node } from 'yaml';
import { fail, MapReader, type Field, type ValueReader } from './reader.js';
import { listOf } from './values.js';
import { FirstOccurrences } from './unique.js';
import { readKey, readKeys } from './read-keys.js';
import { except, keyNames, onlyWithRules } from './key-spec.js';
import { CONFIG_KEYS, OUTBOUND_KEYS } from './keys.js';
import type { OutboundConnector } from './types.js';

/** Keys that mean something at one TLS level only; elsewhere they would be silently ignored. */
const LEVEL_ONLY_KEYS = onlyWithRules(OUTBOUND_KEYS);

export interface OutboundContext {
  certificateConfigured: boolean;
  queueMaxAge: number;
  names: FirstOccurrences;
  /** A domain pattern in two connectors would make routing depend on file order. */
  domains: FirstOccurrences;
}

/** The domains, each claimed by this connector: a second connector naming one is an error. */
function claimedDomains(name: string, context: OutboundContext): ValueReader<string[]> {
  const { item, nonEmpty } = OUTBOUND_KEYS.domains.type;
  const claimed: ValueReader<string> = (node, field) => {
    const domain = item.read(node, field);
    if (domain !== undefined) context.domains.claim(field, node, domain, `outbound connector "${name}"`);
    return domain;
  };
  return listOf(claimed, { nonEmpty });
}

function checkLevelKeys(map: MapReader, connector: OutboundConnector): void {
  if (map.isInvalid('tls')) return;
  const values = connector as unknown as Record<string, unknown>;
  for (const { key, onlyWith } of LEVEL_ONLY_KEYS) {
    const level = values[onlyWith.key];
    if (map.has(key) && level !== onlyWith.value) {
      fail(map.fieldOf(key), map.keyPlaceOf(key), `only applies with ${onlyWith.key}: ${onlyWith.value}, and this connector has ${onlyWith.key}: ${String(level)}`);
    }
    if (onlyWith.needed !== undefined && level === onlyWith.value && !map.has(key) && !map.isInvalid(key)) {
      fail(map.fieldOf(key), map.placeOf(onlyWith.key), `${onlyWith.key}: ${onlyWith.value} needs ${key}: ${onlyWith.needed}`);
    }
  }
}

function readConnector(node: Node, field: Field, context: OutboundContext): OutboundConnector {
  const map = MapReader.open(field, node, keyNames(OUTBOUND_KEYS), node);
  const name = readKey(map, OUTBOUND_KEYS, 'name') ?? '';
  if (map.has('name')) context.names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  const { domains = [], maxAge, ...values } = readKeys(map, except(OUTBOUND_KEYS, 'name'), { domains: claimedDomains(name, context) });
  const connector: OutboundConnector = { ...values, name, domains, maxAge: maxAge ?? context.queueMaxAge, implicit: false };
  checkLevelKeys(map, connector);
  if (connector.clientCertificate && !context.certificateConfigured) {
    fail(map.fieldOf('clientCertificate'), map.placeOf('clientCertificate'), 'true needs our certificate: set tls.cert and tls.key');
  }
  return connector;
}

export function readOutbound(root: MapReader, certificateConfigured: boolean, queueMaxAge: number): OutboundConnector[] {
  const context: OutboundContext = {
    certificateConfigured,
    queueMaxAge,
    names: new FirstOccurrences('outbound connector name'),
    domains: new FirstOccurrences('domain'),
  };
  return root.optional('outbound', listOf((node, field) => readConnector(node, field, context), { nonEmpty: CONFIG_KEYS.outbound.nonEmpty }), []);
}
