import type { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import type { Config, OutboundConnector } from '../config/types.js';
import type { MtaStsState } from '../policy/mtaSts.js';
import { judgeObserved } from '../policy/observedTls.js';
import type { TlsObservation } from '../policy/tlsDecision.js';
import { clientCertificateFor } from '../tls/certificateSelection.js';
import type { ServedCertificate, TlsMaterial } from '../tls/material.js';
import { OcspCache } from '../tls/ocsp/ocspCache.js';
import { peerChain } from '../tls/revocation.js';
import { daneStandingOf, type DaneHost } from './publishedLookups.js';
import { unreachable } from './replies.js';
import type { NextHop } from './route.js';
import { planRoute, type PlanSources } from './routePlan.js';
import type { OcspStaple, SetupReply } from './smtpClient.js';
import { observeHop, peerName, prepareSession, serverNameFor, type HopAddress } from './tlsLadder.js';

// `tlsrelay tls probe`: one connection to a next hop, made as a delivery makes it — the
// route and the published lookups of routePlan.ts, the connector's TLS settings of
// prepareSession, the dial and the observation of observeHop — and then QUIT before MAIL.
// What the session showed is handed back for the policy to judge under every level.

/**
 * Where to probe: a mail domain (its route under the connector: the MX hosts on the
 * port, or the connector's smart hosts), or one host, dialled as a smart host is (no MX
 * lookup; a name is resolved with the relay's resolver).
 */
export type ProbeDestination = { kind: 'domain'; domain: string; port: number } | { kind: 'host'; host: string; port: number };

export interface ProbeRequest {
  /** Whose settings the connection uses: client certificate, minVersion, ciphers, CRLs, pins. */
  connector: OutboundConnector;
  destination: ProbeDestination;
  /** `--name`: the names the certificate must hold, in place of the connector's tlsNames. */
  names: string[];
  /** TLS from the first byte instead of STARTTLS. */
  implicitTls: boolean;
}

export type ProbeContext = PlanSources & { tls: TlsMaterial };

/** The TLS session as the peer set it up. */
export interface PeerTls {
  protocol: string;
  cipher: { name: string; standardName: string };
  /** The key exchange group (`ECDH X25519`); null when Node does not say. */
  keyExchange: { type: string; name: string | null; bits: number } | null;
  /** What the peer sent, as Node links it: leaf first, each followed by its issuer; a trust anchor here may end it. */
  chain: X509Certificate[];
  /** Each expected name and whether the certificate holds it (RFC 6125, as delivery checks it). */
  names: Array<{ name: string; matched: boolean }>;
  ocsp: OcspStaple;
}

export interface ProbedSession {
  kind: 'probed';
  /** The connector as the probe used it: --name in its tlsNames, a host given as its smart host. */
  connector: OutboundConnector;
  /** Every next hop of the route, in delivery's order: the first is probed, at its first address. */
  route: NextHop[];
  target: HopAddress;
  /** The SNI sent (none to an IP address). */
  serverName: string | null;
  sourceIp: string | null;
  /** Ours, presented when the peer asks: the connector's clientCertificate. */
  clientCertificate: ServedCertificate | null;
  /** The greeting, EHLO, STARTTLS and the EHLO inside TLS, as they came. */
  replies: readonly SetupReply[];
  observed: TlsObservation;
  /** Null when no TLS session came about. */
  tls: PeerTls | null;
  /** The host's DANE standing (looked up under dns.dnssec, whatever the connector's level). */
  dane: DaneHost;
  /** The recipient domain's MTA-STS policy, when the route is by MX and the connector honours MTA-STS; else undefined. */
  mtaSts: MtaStsState | undefined;
  /** The names the certificate is checked against: --name, else tlsNames, else the host dialled. */
  expectedNames: string[];
}

export type ProbeOutcome =
  /** `setup`: the connector's TLS settings cannot be made; `route`: no next hop; `unreachable`: no SMTP session. `reply` as a delivery would defer. */
  | { kind: 'failed'; stage: 'setup' | 'route' | 'unreachable'; reply: string; replies: readonly SetupReply[] }
  | ProbedSession;

/** A probe is not the relay: no listener of ours to recognise as a loop (observeHop does not look for one). */
const NOWHERE = { listeners: [], interfaces: () => ({}) };

function keyExchangeOf(socket: TLSSocket): PeerTls['keyExchange'] {
  const info = socket.getEphemeralKeyInfo();
  if (info === null || !('type' in info)) return null;
  return { type: info.type, name: 'name' in info && typeof info.name === 'string' ? info.name : null, bits: info.size };
}

function peerTls(socket: TLSSocket, expectedNames: string[], ocsp: OcspStaple): PeerTls {
  const cipher = socket.getCipher();
  const certificate = socket.getPeerCertificate();
  const held = Buffer.isBuffer(certificate.raw);
  return {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: { name: cipher.name, standardName: cipher.standardName },
    keyExchange: keyExchangeOf(socket),
    chain: peerChain(socket),
    names: expectedNames.map((name) => ({ name, matched: held && checkServerIdentity(name, certificate) === undefined })),
    ocsp,
  };
}

/** The route's connector: the host given as its one smart host; a port given with a domain for its MX hosts. */
function routeOf(request: ProbeRequest, config: Config): { connector: OutboundConnector; config: Config; domain: string } {
  const connector = request.names.length > 0 ? { ...request.connector, tlsNames: request.names } : request.connector;
  const { destination } = request;
  if (destination.kind === 'host') return { connector: { ...connector, smartHosts: [{ host: destination.host, port: destination.port }] }, config, domain: destination.host };
  return { connector, config: { ...config, delivery: { ...config.delivery, port: destination.port } }, domain: destination.domain };
}

/**
 * Probes the first next hop of the route at its first address. Never rejects for what
 * DNS or the peer do: a failure is an outcome.
 */
export async function probe(request: ProbeRequest, ctx: ProbeContext): Promise<ProbeOutcome> {
  const { connector, config, domain } = routeOf(request, ctx.config);
  const setup = await prepareSession(connector, { config, tls: ctx.tls, thisHost: NOWHERE, ocspAnswers: new OcspCache() });
  if (setup.kind === 'failed') return { kind: 'failed', stage: 'setup', reply: setup.result.response, replies: [] };
  // the lookups of a dane connector (TLSA, and MTA-STS where the route is by MX): every level is judged with them
  const planned = await planRoute({ ...connector, tls: 'dane' }, domain, false, { config, mtaSts: ctx.mtaSts });
  if (planned.kind === 'failed') return { kind: 'failed', stage: 'route', reply: planned.route.response, replies: [] };
  const [first] = planned.hops;
  if (first === undefined) throw new Error('a route without hosts');
  const { hop } = first;
  const dane = daneStandingOf(planned.dane ?? { hosts: new Map() }, hop.name);
  const target: HopAddress = { hop, address: hop.addresses[0]! };
  const settings = { ...setup.settings, ...(dane.usable.length > 0 ? { dane: { records: dane.usable, referenceNames: dane.referenceNames, serverName: dane.serverName } } : {}) };
  const session = await observeHop(target, settings, { startTls: !request.implicitTls, implicitTls: request.implicitTls, requestOcsp: true }, () => {});
  if (session.kind === 'unreachable') return { kind: 'failed', stage: 'unreachable', reply: unreachable(peerName(target), session.error).response, replies: session.replies };
  const expectedNames = connector.tlsNames.length > 0 ? connector.tlsNames : [hop.name];
  const socket = session.client?.tlsSocket();
  const tls = session.client && socket ? peerTls(socket, expectedNames, session.client.stapledOcsp) : null;
  session.client?.quit();
  return {
    kind: 'probed',
    connector,
    route: planned.hops.map((planned) => planned.hop),
    target,
    serverName: serverNameFor(target, settings) ?? null,
    sourceIp: session.sourceIp ?? null,
    clientCertificate: clientCertificateFor(ctx.tls.certificates, connector.clientCertificate) ?? null,
    replies: session.replies,
    observed: judgeObserved(session.observed, { names: expectedNames, fingerprints: connector.fingerprints }),
    tls,
    dane,
    mtaSts: planned.mtaSts,
    expectedNames,
  };
}
