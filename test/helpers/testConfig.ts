// A complete, already validated Config built in code from the contract's defaults, for
// unit tests that should not depend on YAML loading (see config.ts for that).
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import {
  AUTH_DEFAULTS,
  DELIVERY_DEFAULTS,
  DNS_DEFAULTS,
  LOG_DEFAULTS,
  outboundDefaults,
  QUEUE_DEFAULTS,
  REPORT_DEFAULTS,
  SMTP_DEFAULTS,
  TLS_DEFAULTS,
  TLS_RPT_DEFAULTS,
} from '../../src/config/defaults.js';
import type { Config, OutboundConnector } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import { ConnectionSlots } from '../../src/outbound/connectionSlots.js';
import { HostBackoff } from '../../src/outbound/hostBackoff.js';
import { MtaStsSource } from '../../src/outbound/mtaSts/source.js';
import { dnsLookupsFor } from '../../src/outbound/resolver.js';
import { SessionCache } from '../../src/outbound/sessionCache.js';
import type { DeliveryContext, TlsMaterial } from '../../src/outbound/types.js';
import type { TransitRecord } from '../../src/transit/record.js';
import type { ServedCertificate } from '../../src/tls/material.js';
import { OcspCache } from '../../src/tls/ocsp/ocspCache.js';
import type { KeyPair } from './pki.js';

/** `dns` may be given in part: the rest takes the defaults. */
export type ConfigOverrides = Omit<Partial<Config>, 'dns'> & { dns?: Partial<Config['dns']> };

export function testConfig({ dns, ...overrides }: ConfigOverrides = {}): Config {
  return {
    file: '/nonexistent/tlsrelay.yaml',
    places: {},
    warnings: [],
    server: { hostname: 'relay.test' },
    listeners: [],
    tls: { cert: undefined, key: undefined, certificates: [], trust: [], crl: [], ...TLS_DEFAULTS },
    dns: { servers: [], ...DNS_DEFAULTS, ...dns },
    queue: { ...QUEUE_DEFAULTS, dir: '/nonexistent/spool', retry: [...QUEUE_DEFAULTS.retry] },
    delivery: { ...DELIVERY_DEFAULTS },
    smtp: { ...SMTP_DEFAULTS },
    auth: { users: [], ...AUTH_DEFAULTS },
    acceptedDomains: [],
    inbound: [],
    outbound: [],
    report: { ...REPORT_DEFAULTS },
    tlsRpt: { ...TLS_RPT_DEFAULTS, organization: 'relay.test', contact: 'postmaster@relay.test' },
    admin: undefined,
    log: { ...LOG_DEFAULTS },
    ...overrides,
  };
}

/** A configured outbound connector: the contract's defaults plus what the test sets. */
export function testConnector(fields: Pick<OutboundConnector, 'name' | 'domains'> & Partial<OutboundConnector>): OutboundConnector {
  return { ...outboundDefaults(QUEUE_DEFAULTS.maxAge), ...fields };
}

/** A pair as the relay serves it once loaded from its files; `name` as tls.certificates[].name gives it. */
export function servedCertificate(pair: KeyPair, name?: string): ServedCertificate {
  const files = { name, cert: '/nonexistent/relay.crt', key: '/nonexistent/relay.key', labels: { cert: 'tls.cert', key: 'tls.key' } } as const;
  return { files, cert: pair.cert, key: pair.key, leaf: new X509Certificate(pair.cert) };
}

export interface CapturedLog {
  lines: Array<Record<string, unknown>>;
}

/**
 * A delivery context whose logger writes JSON lines into `log.lines`, whose transit
 * records go to `transit` and whose MTA-STS cache is `mtaStsCacheDir`, else a fresh temporary folder. `ca` defaults to the system roots plus the given test CAs, as
 * the relay builds it. Its backoff and connection slots are fresh, so deliveries with
 * another context know nothing of them.
 */
export function testDeliveryContext(config: Config, tls: Partial<TlsMaterial> & { extraCa?: string[]; mtaStsCacheDir?: string } = {}): { ctx: DeliveryContext; log: CapturedLog; transit: TransitRecord[] } {
  const log: CapturedLog = { lines: [] };
  const transit: TransitRecord[] = [];
  const destination = {
    write(text: string): void {
      log.lines.push(JSON.parse(text) as Record<string, unknown>);
    },
  };
  const { extraCa = [], mtaStsCacheDir, ...material } = tls;
  const logger = createLogger('info', destination);
  // a cache of its own unless given one (a restart): what one test fetched is never another's
  const cacheDir = mtaStsCacheDir ?? join(mkdtempSync(join(tmpdir(), 'tlsrelay-mta-sts-')), 'mta-sts');
  const ctx: DeliveryContext = {
    config,
    tls: { certificates: [], ca: [...rootCertificates, ...extraCa], crl: [], ...material },
    logger,
    backoff: new HostBackoff(),
    slots: new ConnectionSlots(),
    sessions: new SessionCache(),
    ocspAnswers: new OcspCache(),
    thisHost: { listeners: [], interfaces: networkInterfaces },
    transit: { add: (record) => transit.push(record) },
    mtaSts: new MtaStsSource({ cacheDir, logger, environment: () => ({ lookups: dnsLookupsFor(ctx.config), trust: ctx.tls }) }),
  };
  return { ctx, log, transit };
}
