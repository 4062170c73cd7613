import type { X509Certificate } from 'node:crypto';
import { formatFingerprint } from '../config/fingerprint.js';
import { formatHostPort } from '../config/host-port.js';
import type { Config, OutboundConnector, TlsLevel } from '../config/types.js';
import type { MtaStsState } from '../policy/mtaSts.js';
import type { ProbedSession } from '../outbound/probe.js';
import { mtaStsCacheDir } from '../outbound/mtaSts/source.js';
import { dnsServersOf } from '../outbound/resolver.js';
import type { SetupReply } from '../outbound/smtpClient.js';
import { peerName } from '../outbound/tlsLadder.js';
import { explainMtaSts, type ExplainedMtaSts, type HostOutcome } from '../policy/explainPublished.js';
import { outcomeOfDecision } from '../policy/explainOutbound.js';
import { decideAtLevel, decideEveryLevel, wouldDeliver, type LevelDecision } from '../policy/levelDecisions.js';
import type { DecidingSource, HostPlan, TlsaFinding } from '../policy/publishedPolicy.js';
import { certificateFacts } from '../tls/certificateFacts.js';
import { chainToAnchor, type TrustAnchor } from '../tls/chainToAnchor.js';
import { readOcspResponse } from '../tls/ocsp/ocspResponse.js';
import { certificateBody, chainReport, type CertificateReportBody, type ChainReport } from './certReport.js';

// `tlsrelay tls probe --json`: one document a script can rely on, and what the text form
// is made from. Dates are ISO strings, fingerprints in the form a config pins them.

/** The connector whose settings the probe used, and why that one. */
export interface ProbeConnector {
  name: string;
  /** The relay's default for domains no connector names. */
  implicit: boolean;
  why: string;
  level: TlsLevel;
  /** What the certificate is checked against: --name, else tlsNames, else (empty) the host dialled. */
  tlsNames: string[];
  fingerprints: string[];
  /** Our certificate it presents when the peer asks: its tls.certificates name, else its subject; null for none. */
  clientCertificate: string | null;
}

/** A stapled response read as delivery reads it (tls/ocsp/ocspResponse.ts), dates as ISO strings. */
export type StapledStatus =
  | { kind: 'good' | 'unknown'; thisUpdate: string; nextUpdate: string | null }
  | { kind: 'revoked'; revokedAt: string; reason: string | null; thisUpdate: string; nextUpdate: string | null }
  | { kind: 'invalid'; reason: string };

/** What the staple says of the leaf; invalid when the peer sent no issuer to check it against. */
function stapledStatus(response: Buffer, chain: readonly X509Certificate[], now: Date): StapledStatus {
  const [leaf, issuer] = chain;
  if (leaf === undefined || issuer === undefined) return { kind: 'invalid', reason: 'no issuer certificate in the chain to check it against' };
  const answer = readOcspResponse(response, leaf, issuer, now);
  if (answer.kind === 'invalid') return answer;
  const dates = { thisUpdate: answer.thisUpdate.toISOString(), nextUpdate: answer.nextUpdate?.toISOString() ?? null };
  if (answer.kind === 'revoked') return { kind: 'revoked', revokedAt: answer.revokedAt.toISOString(), reason: answer.reason ?? null, ...dates };
  return { kind: answer.kind, ...dates };
}

/** How the session went about TLS. */
export type StarttlsResult = 'implicit' | 'not-offered' | 'refused' | 'refused-and-closed' | 'accepted';

export interface ProbeTls {
  protocol: string;
  cipher: string;
  /** The IANA name of the suite, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256. */
  cipherStandardName: string;
  keyExchange: { type: string; name: string | null; bits: number } | null;
  /** What the server stapled when asked (the probe always asks: status_request): its size, and what it says of the leaf once checked against the issuer. */
  ocsp: { stapled: false } | { stapled: true; bytes: number; status: StapledStatus };
  /** OpenSSL's verdict against the system roots and tls.trust, then the CRLs: as a delivery judges the chain. */
  trusted: boolean;
  trustError: string | null;
  /** The chain followed to an anchor here: which root, and where it came from. */
  chain: ChainReport;
  /** Every certificate of the chain as Node links what the peer sent, leaf first. */
  certificates: CertificateReportBody[];
  names: { expected: string[]; matched: boolean; each: Array<{ name: string; matched: boolean }>; error: string | null };
  /** The leaf's pins, as a fingerprint connector takes them; null when the server presented no certificate. */
  pins: { certificate: string; publicKey: string } | null;
}

/** One level's decision over the session. */
export interface LevelRow {
  level: TlsLevel;
  plan: HostPlan['kind'];
  decidedBy: DecidingSource;
  /** Why the plan is what it is, in the fold's words. */
  explanation: string;
  /** `not-used`: MTA-STS enforce leaves the host out (`response` says why); defer-before-dialling: a TLSA lookup failed, or dane-only has no records. */
  outcome: HostOutcome | { action: 'not-used'; response: string };
  delivers: boolean;
}

export interface ProbeReport {
  destination: { given: string; kind: 'domain' | 'host' | 'address'; port: number };
  connector: ProbeConnector;
  /** The level the exit status answers for: the connector's with --connector, else verify. */
  judged: { level: TlsLevel; by: 'connector' | 'default' };
  dns: { servers: string[]; dnssec: boolean };
  route: Array<{ host: string; port: number; preference: number; addresses: string[] }>;
  probed: { host: string; address: string; port: number; peer: string; serverName: string | null; sourceIp: string | null; tls: 'starttls' | 'implicit' };
  /** The greeting, EHLO, STARTTLS and the EHLO inside TLS, each reply's lines as they came. */
  dialogue: Array<{ reply: SetupReply['reply']; lines: string[] }>;
  /** The keywords of the last EHLO reply: inside TLS, the one after STARTTLS. */
  extensions: string[];
  starttls: StarttlsResult;
  handshakeFailure: string | null;
  tls: ProbeTls | null;
  published: { dane: { dnssec: boolean; finding: TlsaFinding }; mtaSts: ExplainedMtaSts & { cacheDir: string } };
  levels: LevelRow[];
  result: LevelRow;
}

/** What was asked: the destination as given, why the connector, and the level judged. */
export interface ProbeSubject {
  destination: ProbeReport['destination'];
  why: string;
  judged: ProbeReport['judged'];
}

const lines = (text: string): string[] => text.split(/\r?\n/).filter((line) => line !== '');

/** Each line of an EHLO reply after the first: `250-SIZE 1000` is `SIZE 1000`. */
function extensionsOf(replies: readonly SetupReply[]): string[] {
  const ehlo = replies.filter(({ reply, text }) => reply === 'EHLO' && text.startsWith('2')).at(-1);
  return ehlo === undefined ? [] : lines(ehlo.text).slice(1).map((line) => line.replace(/^\d{3}[ -]/, ''));
}

function starttlsOf(session: ProbedSession, implicit: boolean): StarttlsResult {
  if (implicit) return 'implicit';
  switch (session.observed.kind) {
    case 'starttls-not-offered':
    case 'no-tls-attempted':
      return 'not-offered';
    case 'starttls-refused':
      return session.observed.closed ? 'refused-and-closed' : 'refused';
    case 'handshake-failed':
    case 'established':
      return 'accepted';
  }
}

function clientCertificateName(session: ProbedSession): string | null {
  const presented = session.clientCertificate;
  if (presented === null) return null;
  return presented.files.name ?? certificateFacts(presented.leaf.raw).subject;
}

function tlsReport(session: ProbedSession, anchors: TrustAnchor[], now: Date): ProbeTls | null {
  const { tls, observed } = session;
  if (tls === null || observed.kind !== 'established') return null;
  const [leaf] = tls.chain;
  const facts = tls.chain.map((certificate) => certificateFacts(certificate.raw));
  return {
    protocol: tls.protocol,
    cipher: tls.cipher.name,
    cipherStandardName: tls.cipher.standardName,
    keyExchange: tls.keyExchange,
    ocsp: tls.ocsp.kind === 'stapled' ? { stapled: true, bytes: tls.ocsp.response.length, status: stapledStatus(tls.ocsp.response, tls.chain, now) } : { stapled: false },
    trusted: observed.chainValid,
    trustError: observed.chainError ?? null,
    chain: leaf === undefined ? { complete: false, rootIssuer: null, problem: 'the server presented no certificate', path: [] } : chainReport(chainToAnchor(tls.chain, anchors), 'peer'),
    certificates: facts.map((fact) => certificateBody(fact, now)),
    names: { expected: session.expectedNames, matched: observed.nameMatched, each: tls.names, error: observed.nameError ?? null },
    pins: facts[0] === undefined ? null : { certificate: formatFingerprint(facts[0].fingerprints.certificate), publicKey: formatFingerprint(facts[0].fingerprints.publicKey) },
  };
}

function levelRow(decided: LevelDecision): LevelRow {
  const { level, plan } = decided;
  const common = { level, plan: plan.kind, decidedBy: plan.decidedBy, explanation: plan.explanation, delivers: wouldDeliver(decided) };
  if (decided.decision !== null) return { ...common, outcome: outcomeOfDecision(decided.decision) };
  const response = `${decided.plan.code} ${decided.plan.text}`;
  return { ...common, outcome: decided.plan.kind === 'skip' ? { action: 'not-used', response } : { action: 'defer-before-dialling', response } };
}

/** The domain's policy, as a connector that honours MTA-STS would see it (a probe of one host has no domain to ask). */
function mtaStsOf({ destination }: ProbeSubject, connector: OutboundConnector, state: MtaStsState | undefined): ExplainedMtaSts {
  if (destination.kind !== 'domain') return { consulted: false, why: `${destination.given} is dialled itself, not as a domain's MX host: probe the domain to have its policy judged` };
  return explainMtaSts({ ...connector, tls: 'opportunistic' }, state);
}

/** The document, from what the probe saw; `anchors` name where the chain leads. */
export function probeReport(config: Config, subject: ProbeSubject, session: ProbedSession, implicitTls: boolean, anchors: TrustAnchor[], now: Date): ProbeReport {
  const { connector, target } = session;
  const { hop } = target;
  const probed = { connector, host: hop.name, peer: peerName(target), found: { tlsa: session.dane.finding, mtaSts: session.mtaSts }, observed: session.observed };
  return {
    destination: subject.destination,
    connector: {
      name: connector.name,
      implicit: connector.implicit,
      why: subject.why,
      level: connector.tls,
      tlsNames: connector.tlsNames,
      fingerprints: connector.fingerprints.map(formatFingerprint),
      clientCertificate: clientCertificateName(session),
    },
    judged: subject.judged,
    dns: { servers: dnsServersOf(config).map(formatHostPort), dnssec: config.dns.dnssec },
    route: session.route.map(({ name, port, preference, addresses }) => ({ host: name, port, preference, addresses })),
    probed: { host: hop.name, address: target.address, port: hop.port, peer: probed.peer, serverName: session.serverName, sourceIp: session.sourceIp, tls: implicitTls ? 'implicit' : 'starttls' },
    dialogue: session.replies.map(({ reply, text }) => ({ reply, lines: lines(text) })),
    extensions: extensionsOf(session.replies),
    starttls: starttlsOf(session, implicitTls),
    handshakeFailure: session.observed.kind === 'handshake-failed' ? session.observed.reason : null,
    tls: tlsReport(session, anchors, now),
    published: { dane: { dnssec: config.dns.dnssec, finding: session.dane.finding }, mtaSts: { ...mtaStsOf(subject, connector, session.mtaSts), cacheDir: mtaStsCacheDir(config.queue.dir) } },
    levels: decideEveryLevel(probed, subject.judged.level).map(levelRow),
    result: levelRow(decideAtLevel(probed, subject.judged.level)),
  };
}
