import type { Node } from 'yaml';
import { fail, MapReader, type Field, type ValueReader } from './reader.js';
import { boolean, cipherList, domainPattern, duration, fingerprint, hostName, hostPort, listOf, oneOf, readableFile, text } from './values.js';
import { FirstOccurrences } from './unique.js';
import { outboundDefaults, SMART_HOST_PORT } from './defaults.js';
import { TLS_LEVELS, TLS_VERSIONS, type OutboundConnector, type TlsLevel } from './types.js';

const OUTBOUND_KEYS = [
  'name', 'domains', 'smartHosts', 'tls', 'tlsNames', 'fingerprints', 'minVersion',
  'ciphers', 'crl', 'clientCertificate', 'plaintextFallback', 'maxAge',
] as const;

/** Keys that mean something at one TLS level only; elsewhere they would be silently ignored. */
const LEVEL_ONLY_KEYS: ReadonlyArray<{ key: string; level: TlsLevel }> = [
  { key: 'tlsNames', level: 'verify' },
  { key: 'fingerprints', level: 'fingerprint' },
  { key: 'plaintextFallback', level: 'opportunistic' },
];

export interface OutboundContext {
  certificateConfigured: boolean;
  queueMaxAge: number;
  names: FirstOccurrences;
  /** A domain pattern in two connectors would make routing depend on file order. */
  domains: FirstOccurrences;
}

function readDomains(map: MapReader, name: string, context: OutboundContext): string[] {
  const pattern = domainPattern({ allowStar: true });
  const claimed: ValueReader<string> = (node, field) => {
    const domain = pattern(node, field);
    if (domain !== undefined) context.domains.claim(field, node, domain, `outbound connector "${name}"`);
    return domain;
  };
  return map.required('domains', listOf(claimed, { nonEmpty: true }), []);
}

function checkLevelKeys(map: MapReader, connector: OutboundConnector): void {
  if (map.isInvalid('tls')) return;
  for (const { key, level } of LEVEL_ONLY_KEYS) {
    if (map.has(key) && connector.tls !== level) {
      fail(map.fieldOf(key), map.keyPlaceOf(key), `only applies with tls: ${level}, and this connector has tls: ${connector.tls}`);
    }
  }
  if (connector.tls === 'fingerprint' && !map.has('fingerprints') && !map.isInvalid('fingerprints')) {
    fail(map.fieldOf('fingerprints'), map.placeOf('tls'), 'tls: fingerprint needs fingerprints: the sha256: pins of the certificates to accept');
  }
}

function readConnector(node: Node, field: Field, context: OutboundContext): OutboundConnector {
  const map = MapReader.open(field, node, OUTBOUND_KEYS, node);
  const defaults = outboundDefaults(context.queueMaxAge);
  const name = map.required('name', text, '');
  if (map.has('name')) context.names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  const connector: OutboundConnector = {
    name,
    domains: readDomains(map, name, context),
    smartHosts: map.optional('smartHosts', listOf(hostPort(SMART_HOST_PORT, 'name-or-ip')), defaults.smartHosts),
    tls: map.optional('tls', oneOf(TLS_LEVELS), defaults.tls),
    tlsNames: map.optional('tlsNames', listOf(hostName), defaults.tlsNames),
    fingerprints: map.optional('fingerprints', listOf(fingerprint, { nonEmpty: true }), defaults.fingerprints),
    minVersion: map.optional('minVersion', oneOf(TLS_VERSIONS), defaults.minVersion),
    ciphers: map.read('ciphers', cipherList),
    crl: map.optional('crl', listOf(readableFile), defaults.crl),
    clientCertificate: map.optional('clientCertificate', boolean, defaults.clientCertificate),
    plaintextFallback: map.optional('plaintextFallback', boolean, defaults.plaintextFallback),
    maxAge: map.optional('maxAge', duration(), defaults.maxAge),
    implicit: defaults.implicit,
  };
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
  return root.optional('outbound', listOf((node, field) => readConnector(node, field, context)), []);
}
