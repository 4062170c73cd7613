import type { Node } from 'yaml';
import { fail, MapReader, warn, type Field, type ValueReader } from './reader.js';
import { listOf } from './values.js';
import { FirstOccurrences } from './unique.js';
import { readKey, readKeys } from './read-keys.js';
import { except, keyNames, onlyWithRules } from './key-spec.js';
import { CONFIG_KEYS, OUTBOUND_KEYS } from './keys.js';
import type { ConfigPlaces, OutboundConnector } from './types.js';

/** Keys that mean something at one TLS level only; elsewhere they would be silently ignored. */
const LEVEL_ONLY_KEYS = onlyWithRules(OUTBOUND_KEYS);

/** What the connectors are read against: facts of other sections. */
export interface OutboundSurroundings {
  certificateConfigured: boolean;
  /** The names of tls.certificates; undefined when that list could not be read (then no name is judged). */
  certificateNames: string[] | undefined;
  queueMaxAge: number;
  /** dns.dnssec: DANE has secure answers to go on only with it. */
  dnssec: boolean;
}

export interface OutboundContext extends OutboundSurroundings {
  names: FirstOccurrences;
  /** A domain pattern in two connectors would make routing depend on file order. */
  domains: FirstOccurrences;
  /** Where each connector's CRL files are named (`outbound[1].crl[0]`), filled as the connectors are read. */
  places: ConfigPlaces;
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

/**
 * DANE needs answers a validating resolver vouches for: `dane-only` would defer
 * everything without them, `dane` quietly becomes `opportunistic`.
 */
function checkDnssec(map: MapReader, connector: OutboundConnector, dnssec: boolean): void {
  if (dnssec) return;
  if (connector.tls === 'dane-only') {
    fail(map.fieldOf('tls'), map.placeOf('tls'), 'dane-only needs dns.dnssec: true (a validating resolver in dns.servers): without it no TLSA record counts as secure and every message would be deferred');
  } else if (connector.tls === 'dane') {
    warn(map.fieldOf('tls'), map.placeOf('tls'), 'dane without dns.dnssec: true acts as opportunistic (plus MTA-STS): no TLSA record counts as secure; set dns.dnssec: true with a validating resolver in dns.servers');
  }
}

/** Keys that mean nothing beside a sibling list that is set (mtaSts beside smartHosts). */
const NOT_WITH_KEYS = Object.entries(OUTBOUND_KEYS).flatMap(([key, node]) => ('notWith' in node && node.notWith ? [{ key, notWith: node.notWith }] : []));

function checkNotWithKeys(map: MapReader, connector: OutboundConnector): void {
  const values = connector as unknown as Record<string, unknown[]>;
  for (const { key, notWith } of NOT_WITH_KEYS) {
    if (map.has(key) && !map.isInvalid(key) && values[notWith]!.length > 0) {
      fail(map.fieldOf(key), map.keyPlaceOf(key), `only applies to MX routes; a connector with ${notWith} uses only its own TLS level`);
    }
  }
}

/** The certificate a connector presents must be there: ours at all, and a pair with the name it gives. */
function checkClientCertificate(map: MapReader, choice: boolean | string, { certificateConfigured, certificateNames }: OutboundContext): void {
  const field = map.fieldOf('clientCertificate');
  const place = map.placeOf('clientCertificate');
  if (choice === false) return;
  if (!certificateConfigured) {
    fail(field, place, `${choice === true ? 'true' : `"${choice}"`} needs our certificate: set tls.cert and tls.key, or tls.certificates`);
  } else if (typeof choice === 'string' && certificateNames !== undefined && !certificateNames.includes(choice)) {
    const named = certificateNames.length > 0 ? `the names are ${certificateNames.map((name) => `"${name}"`).join(', ')}` : 'none of them has a name (tls.certificates[].name)';
    fail(field, place, `no pair of tls.certificates is named "${choice}": ${named}`);
  }
}

function readConnector(node: Node, field: Field, context: OutboundContext): OutboundConnector {
  const map = MapReader.open(field, node, keyNames(OUTBOUND_KEYS), node);
  const name = readKey(map, OUTBOUND_KEYS, 'name') ?? '';
  if (map.has('name')) context.names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  const { domains = [], maxAge, mtaSts, ...values } = readKeys(map, except(OUTBOUND_KEYS, 'name'), { domains: claimedDomains(name, context) });
  const connector: OutboundConnector = {
    ...values,
    name,
    domains,
    // MTA-STS names the MX hosts a domain may use: a smart-host route has none
    mtaSts: values.smartHosts.length === 0 && (mtaSts ?? true),
    maxAge: maxAge ?? context.queueMaxAge,
    implicit: false,
  };
  Object.assign(context.places, map.itemPlacesOf('crl', `${field.label}.crl` as `outbound[${number}].crl`));
  checkLevelKeys(map, connector);
  checkNotWithKeys(map, connector);
  if (!map.isInvalid('tls')) checkDnssec(map, connector, context.dnssec);
  checkClientCertificate(map, connector.clientCertificate, context);
  return connector;
}

export function readOutbound(root: MapReader, surroundings: OutboundSurroundings): { outbound: OutboundConnector[]; places: ConfigPlaces } {
  const context: OutboundContext = {
    ...surroundings,
    names: new FirstOccurrences('outbound connector name'),
    domains: new FirstOccurrences('domain'),
    places: {},
  };
  const outbound = root.optional('outbound', listOf((node, field) => readConnector(node, field, context), { nonEmpty: CONFIG_KEYS.outbound.nonEmpty }), []);
  return { outbound, places: context.places };
}
