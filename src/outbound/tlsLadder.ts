import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type ConnectionOptions, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { OutboundConnector } from '../config/types.js';
import { parseCrlFile, type RevocationList } from '../tls/crl.js';
import { clientCertificateFor } from '../tls/certificateSelection.js';
import type { AppliedPolicy } from '../policy/appliedPolicy.js';
import { judgeObserved, type ObservedTls } from '../policy/observedTls.js';
import { peerName as peerLabel } from '../policy/peerName.js';
import type { PublishedFindings, UnreportedFailure } from '../policy/publishedPolicy.js';
import type { TlsResultType } from '../policy/resultTypes.js';
import { connectorRule, decideTls, type TlsDecision, type TlsRule } from '../policy/tlsDecision.js';
import type { TlsaRecord } from '../tls/dane.js';
import { ocspSettingsFor, type OcspSettings } from '../tls/ocsp/chainOcsp.js';
import type { OcspResult } from '../tls/ocsp/ocspCheck.js';
import type { CertVerdict, TlsFacts } from '../queue/types.js';
import { observeHandshakeFailure, observeSession, withPeerOcsp } from './observeTls.js';
import { loopEvidence, namedAsMyself, type ThisHost } from './loopDetection.js';
import { secureContextFor } from './secureContextCache.js';
import { oneLine, unreachable, type Disposition } from './replies.js';
import type { NextHop } from './route.js';
import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import { dial, type SetupReply, type SmtpClient } from './smtpClient.js';
import type { DeliveryContext } from './types.js';
import type { Logger } from '../log.js';

// Connecting to one address of a next hop and walking the TLS ladder: STARTTLS or not
// per level, observe, ask the policy, and either hand back a session ready for MAIL,
// ask for the plaintext fallback, or QUIT with the deferral.

/** One address of one next hop: what a single connection goes to. */
export interface HopAddress {
  hop: NextHop;
  address: string;
}

/** `mx.test[192.0.2.1]`, or the IP a host was dialled by (policy/peerName.ts). */
export function peerName({ hop, address }: HopAddress): string {
  return peerLabel(hop.name, address);
}

/** `mx.test[192.0.2.1]:25`, `192.0.2.1:25` or `[2001:db8::1]:25`: the host field of attempt records. */
export function peerWithPort(target: HopAddress): string {
  const name = peerName(target);
  return `${isIP(name) === 6 ? `[${name}]` : name}:${target.hop.port}`;
}

/** What every connection of one domain delivery shares. */
export interface SessionSettings {
  connector: OutboundConnector;
  clientName: string;
  tls: ConnectionOptions;
  /** tls.crl and the connector's own CRLs. */
  revocationLists: RevocationList[];
  /** tls.ocsp when it is on: the next hop is asked to staple, and the leaf is checked. */
  ocsp?: OcspSettings;
  /** To tell a next hop that is this relay. */
  thisHost: ThisHost;
  /** What sessions to this host must show: the connector's level, or what a published policy raised it to. */
  rule: TlsRule;
  /** The usable secure TLSA records, reference names and the SNI (the TLSA base domain), when DANE judges the host. */
  dane?: { records: TlsaRecord[]; referenceNames: string[]; serverName: string };
  /** What MTA-STS found wrong without refusing the host, for the transit record of a session that failed nothing else (TLS-RPT). */
  unreported?: UnreportedFailure;
  /** The messages carry TLS-Required: No and published policies were waived for them: the transit record says so. */
  tlsRequiredNo?: true;
  /** What the published sources asked for this host found, for the transit record. */
  published?: PublishedFindings;
}

export type SessionSetup = { kind: 'ready'; settings: SessionSettings } | { kind: 'failed'; result: Disposition };

/** A configuration we cannot act on defers (4.3.5), so fixing the config delivers the mail. */
function misconfigured(text: string): SessionSetup {
  return { kind: 'failed', result: { outcome: 'deferred', code: 451, response: `451 4.3.5 ${text}` } };
}

/**
 * The TLS setup every connection of one delivery shares. Reads the connector's CRL files
 * once per delivery, so a replaced CRL counts from the next delivery on.
 */
export async function prepareSession(connector: OutboundConnector, ctx: Pick<DeliveryContext, 'config' | 'tls' | 'thisHost' | 'ocspAnswers'>): Promise<SessionSetup> {
  const connectorCrls: RevocationList[] = [];
  for (const path of connector.crl) {
    try {
      connectorCrls.push(...parseCrlFile(await readFile(path, 'utf8'), path));
    } catch (err) {
      return misconfigured(`cannot read CRL ${path} of connector "${connector.name}": ${(err as Error).message}`);
    }
  }
  let clientCertificate: Pick<SecureContextOptions, 'key' | 'cert'> = {};
  if (connector.clientCertificate !== false) {
    const presented = clientCertificateFor(ctx.tls.certificates, connector.clientCertificate);
    if (presented === undefined) {
      const which = connector.clientCertificate === true ? 'a client certificate' : `the client certificate "${connector.clientCertificate}"`;
      return misconfigured(`connector "${connector.name}" presents ${which}, but no such certificate is loaded (tls.cert and tls.key, or tls.certificates)`);
    }
    clientCertificate = { key: presented.key, cert: presented.cert };
  }
  let secureContext: SecureContext;
  try {
    // no CRLs in the context: OpenSSL would then demand one for every CA of every chain;
    // they are applied per issuer after the handshake (observeTls.ts, tls/revocation.ts)
    secureContext = secureContextFor(ctx.tls, connector, {
      minVersion: connector.minVersion,
      ...(connector.ciphers === undefined ? {} : { ciphers: connector.ciphers }),
      ca: ctx.tls.ca,
      ...clientCertificate,
    });
  } catch (err) {
    return misconfigured(`cannot set up TLS for connector "${connector.name}" (ciphers or certificate): ${(err as Error).message}`);
  }
  const tls: ConnectionOptions = {
    secureContext,
    // the certificate is judged by the policy before MAIL, not by the handshake
    rejectUnauthorized: false,
    // makes `authorized` mean the chain alone; names are checked against tlsNames later
    checkServerIdentity: () => undefined,
  };
  const revocationLists = [...ctx.tls.crl, ...connectorCrls];
  const ocsp = ocspSettingsFor(ctx.config.tls.ocsp, ctx.ocspAnswers);
  const settings: SessionSettings = { connector, clientName: ctx.config.server.hostname, tls, revocationLists, ...(ocsp ? { ocsp } : {}), thisHost: ctx.thisHost, rule: connectorRule(connector) };
  return { kind: 'ready', settings };
}

/**
 * Every outcome but a loop says which policy governed the connection; one that carries
 * nothing also says what failed (RFC 8460), or null when no TLS was judged (unreachable).
 */
export type SessionOutcome =
  /**
   * Ready for MAIL (our address in it: `client.localAddress`). `refusedReply`: STARTTLS was
   * refused and the session went on in plaintext. `failure`: what an MTA-STS testing policy
   * would have refused, or a policy that could not be fetched — recorded, not enforced.
   */
  | { kind: 'ready'; client: SmtpClient; tls: TlsFacts | null; verdict: CertVerdict; policy: AppliedPolicy; failure: TlsResultType | null; observed: ObservedTls; refusedReply?: string }
  /** Opportunistic TLS broke the session: try this address again without STARTTLS. `sourceIp`: our address in it, when known. */
  | { kind: 'fallback'; result: Disposition; policy: AppliedPolicy; failure: TlsResultType; observed: ObservedTls; sourceIp: string | undefined }
  /** Nothing goes over this connection; the next address may do better. `observed`: absent when no session came about. */
  | { kind: 'deferred'; cause: DeferralCause; tls: TlsFacts | null; verdict: CertVerdict; policy: AppliedPolicy; failure: TlsResultType | null; observed?: ObservedTls; result: Disposition; sourceIp: string | undefined }
  /** The server named itself with our hostname: it is this relay, and the session was ended before MAIL. */
  | { kind: 'loop'; evidence: string };

/**
 * Why a connection carried nothing: `unreachable` — no SMTP session came about (refused,
 * timed out, greeting or EHLO refused, hung up); `handshake` — the TLS handshake under
 * the connector's settings failed; `policy` — the host's TLS did not satisfy the level.
 */
export type DeferralCause = 'unreachable' | 'handshake' | 'policy';

/**
 * `policy` walks the connector's level; `plaintext-fallback` is the one retry without
 * STARTTLS, after the TLS attempt that showed `after` — what its transit record keeps, as
 * the reason there was a plaintext session at all.
 */
export type LadderMode = { kind: 'policy' } | { kind: 'plaintext-fallback'; after: ObservedTls };

/** Every outcome but a session ready for MAIL. */
export type LeftSession = Exclude<SessionOutcome, { kind: 'ready' }>;

/** Any decision but delivering over an open connection: QUIT or close, and say why. */
function leaveSession(decision: TlsDecision, client: SmtpClient | undefined, cause: DeferralCause, observed: ObservedTls, sourceIp: string | undefined): LeftSession {
  switch (decision.action) {
    case 'deliver':
      // the policy never delivers over a failed connection; if it ever did, nothing is lost
      return { kind: 'deferred', cause, tls: decision.tls, verdict: decision.verdict, policy: decision.policy, failure: null, observed, result: { outcome: 'deferred', code: 451, response: '451 4.3.0 no connection left to deliver over' }, sourceIp };
    case 'plaintext-fallback':
      client?.close();
      return { kind: 'fallback', policy: decision.policy, failure: decision.failure, observed, result: { outcome: 'deferred', code: 450, response: `450 ${decision.reason}; retrying in plaintext` }, sourceIp };
    case 'defer': {
      // never MAIL: say goodbye and leave
      client?.quit();
      const { tls, verdict, policy, failure, code, text } = decision;
      return { kind: 'deferred', cause, tls, verdict, policy, failure, observed, result: { outcome: 'deferred', code, response: `${code} ${text}` }, sourceIp };
    }
  }
}

/** A DANE match names its record; an MTA-STS testing policy the session fell short of says what enforce would have done. */
function logPublishedOutcome(settings: SessionSettings, target: HopAddress, observed: ObservedTls, decision: Extract<TlsDecision, { action: 'deliver' }>, logger: Logger): void {
  const host = peerWithPort(target);
  const connector = settings.connector.name;
  if (observed.kind === 'established' && observed.dane?.kind === 'matched') logger.info({ host, connector, tlsa: observed.dane.record }, 'DANE: the certificate matched a TLSA record');
  if (decision.wouldFail) {
    logger.warn({ host, connector, policy: decision.policy, resultType: decision.wouldFail.failure, wouldDefer: decision.wouldFail.text }, 'MTA-STS testing: delivered, but enforce would have deferred');
  }
}

/** What tls.ocsp found of the next hop's certificate: a note when it passed, the reason it made the chain invalid when not. */
function logOcsp(result: OcspResult, settings: SessionSettings, target: HopAddress, logger: Logger): void {
  const fields = { host: peerWithPort(target), connector: settings.connector.name, tlsLevel: settings.rule.tls, source: result.source };
  if (result.kind === 'accept') logger.info({ ...fields, note: result.note }, 'OCSP: the next hop\'s certificate passed');
  else logger.warn({ ...fields, decision: result.kind, reason: result.reason }, 'OCSP: the next hop\'s certificate chain is not valid; the level decides');
}

/**
 * The SNI a session sends: the host's name — under DANE the TLSA base domain, which for
 * an MX host that is a CNAME may be the name it leads to (RFC 7672 §8.1) — and none to an
 * IP address.
 */
export function serverNameFor(target: HopAddress, settings: Pick<SessionSettings, 'dane'>): string | undefined {
  return isIP(target.hop.name) === 0 ? (settings.dane?.serverName ?? target.hop.name) : undefined;
}

/** How one connection goes about TLS: STARTTLS when offered (or never), or TLS from the start (`tls probe --implicit` only). */
export type TlsStart = { startTls: boolean; implicitTls?: boolean; requestOcsp?: boolean };

/** What one connection to one address showed, before any decision. */
export type HopSession =
  /** No SMTP session came about (refused, timed out, greeting or EHLO refused, hung up); no TLS was judged. */
  | { kind: 'unreachable'; error: SMTPError; sourceIp: string | undefined; replies: readonly SetupReply[] }
  /** `client`: the open session, undefined when the TLS setup failed (then `observed` says how). `ocsp`: what tls.ocsp found, when it asked. */
  | { kind: 'observed'; client: SmtpClient | undefined; observed: ObservedTls; sourceIp: string | undefined; replies: readonly SetupReply[]; ocsp?: OcspResult };

/**
 * Dials one address and says what the session showed before any connector's names and
 * pins are applied (judgeObserved does that): the chain against the trust store, CRLs,
 * OCSP under tls.ocsp and, when DANE judges the host, its TLSA records. Delivery and `tls probe` alike: the probe
 * sees what a delivery would. `onSocketClosed`: see DialOptions.
 */
export async function observeHop(target: HopAddress, settings: SessionSettings, start: TlsStart, onSocketClosed: () => void): Promise<HopSession> {
  const servername = serverNameFor(target, settings);
  const dialed = await dial({
    address: target.address,
    port: target.hop.port,
    clientName: settings.clientName,
    ...start,
    ...(settings.ocsp ? { requestOcsp: true } : {}),
    tls: { ...settings.tls, ...(servername === undefined ? {} : { servername }) },
    onSocketClosed,
  });
  if (dialed.kind === 'failed') {
    const { replies, localAddress: sourceIp } = dialed;
    if (!dialed.duringTlsUpgrade) return { kind: 'unreachable', error: dialed.error, sourceIp, replies };
    return { kind: 'observed', client: undefined, observed: observeHandshakeFailure(dialed.error), sourceIp, replies };
  }
  const { client } = dialed;
  if (!start.startTls && !start.implicitTls) {
    return { kind: 'observed', client, observed: { kind: 'no-tls-attempted', starttlsOffered: client.starttlsAdvertised() }, sourceIp: client.localAddress, replies: client.setupReplies };
  }
  const seen = observeSession(client, { revocationLists: settings.revocationLists, ...(settings.dane ? { dane: settings.dane } : {}) });
  const { observed, ocsp } = await withPeerOcsp(client, seen, settings.ocsp);
  return { kind: 'observed', client, observed, sourceIp: client.localAddress, replies: client.setupReplies, ...(ocsp ? { ocsp } : {}) };
}

/** `onSocketClosed`: see DialOptions. */
export async function openSession(target: HopAddress, settings: SessionSettings, mode: LadderMode, onSocketClosed: () => void, logger: Logger): Promise<SessionOutcome> {
  const { rule } = settings;
  const session = await observeHop(target, settings, { startTls: mode.kind === 'policy' && rule.tls !== 'none' }, onSocketClosed);
  if (session.kind === 'unreachable') {
    // no TLS was judged: the connector's policy stands for the record of the attempt
    return { kind: 'deferred', cause: 'unreachable', tls: null, verdict: 'none', policy: rule.policy, failure: null, result: unreachable(peerName(target), session.error), sourceIp: session.sourceIp };
  }
  const { client, observed, sourceIp } = session;
  if (session.ocsp) logOcsp(session.ocsp, settings, target, logger);
  // before the TLS verdict: a loop is the news, whatever our own certificate would have shown
  const myself = client === undefined ? undefined : namedAsMyself(target.address, client.serverNames, settings.clientName, settings.thisHost);
  if (client !== undefined && myself !== undefined) {
    client.quit();
    return { kind: 'loop', evidence: loopEvidence(peerName(target), { named: myself }) };
  }
  const names = settings.connector.tlsNames.length > 0 ? settings.connector.tlsNames : [target.hop.name];
  const decision = decideTls(rule, peerName(target), judgeObserved(observed, { names, fingerprints: settings.connector.fingerprints }));
  // the plaintext retry is recorded with what the TLS attempt before it showed: that is why it happened
  const recorded = mode.kind === 'plaintext-fallback' ? mode.after : observed;
  if (decision.action !== 'deliver' || client === undefined) return leaveSession(decision, client, observed.kind === 'handshake-failed' ? 'handshake' : 'policy', recorded, sourceIp);
  const refused = observed.kind === 'starttls-refused' ? { refusedReply: client.lastReply() } : {};
  logPublishedOutcome(settings, target, observed, decision, logger);
  const failure = decision.wouldFail?.failure ?? settings.unreported ?? null;
  return { kind: 'ready', client, tls: decision.tls, verdict: decision.verdict, policy: decision.policy, failure, observed: recorded, ...refused };
}

/**
 * The peer refused STARTTLS, we went on in plaintext, and it hung up before answering
 * MAIL: it had closed after refusing, which the policy may treat differently.
 */
export function decideAfterRefusalClosed(target: HopAddress, settings: SessionSettings, reply: string, sourceIp: string | undefined): LeftSession {
  const observed = { kind: 'starttls-refused' as const, reply: oneLine(reply), closed: true };
  return leaveSession(decideTls(settings.rule, peerName(target), observed), undefined, 'policy', observed, sourceIp);
}
