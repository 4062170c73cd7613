import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { formatFingerprint } from '../config/fingerprint.js';
import type { Config, OutboundConnector, TlsLevel } from '../config/types.js';
import { outcomeOfDecision, type NextHopOutcome } from '../policy/explainOutbound.js';
import type { ChainFailure } from '../policy/resultTypes.js';
import { connectorRule, decideTls, type EstablishedTls } from '../policy/tlsDecision.js';
import { certificateFacts } from '../tls/certificateFacts.js';
import { validityAt, type Validity } from '../tls/certificateValidity.js';
import { chainToAnchor, type TrustAnchor } from '../tls/chainToAnchor.js';
import { oneLineName } from '../tls/distinguishedName.js';
import type { RevocationList } from '../tls/crl.js';
import { checkRevocation } from '../tls/revocation.js';
import { certificateBody, chainReport, type CertificateReportBody, type ChainReport } from './certReport.js';

// `tlsrelay cert check FILE`: a certificate judged as a peer's would be, without a
// handshake — its chain to the anchors here and the CRLs, its dates, its names — and, for
// each outbound connector, what the connector's level would decide were a next hop to
// present it: the session the relay would see, judged by decideTls, as delivery judges.

/** What a connector would make of the certificate; `not-judged` where that depends on what only a delivery knows. */
export type ConnectorCheck = {
  connector: string;
  level: TlsLevel;
  /** The connector's pins and whether the certificate or its public key is one of them; null when it has none. */
  pins: { configured: string[]; matched: boolean } | null;
  /** At level verify, the names the connector expects (tlsNames, else its smart hosts, else --name for the MX host) and whether each is held; the other levels check none. */
  names: Array<{ name: string; held: boolean }>;
  outcome: NextHopOutcome | { action: 'not-judged'; why: string };
};

export interface CertCheckReport {
  file: string;
  /** The first certificate of the file, the one checked. */
  certificate: CertificateReportBody;
  validity: { state: 'valid' | 'expired' | 'not-yet-valid'; daysLeft: number };
  chain: ChainReport;
  /** tls.crl against each certificate of the chain, by its issuer (as delivery applies them). */
  revocation: { status: 'good' } | { status: 'failed'; reason: string };
  /** The chain leads to an anchor here, every issuer on the way in date, none revoked: with the certificate in date, what verify-ca asks. */
  trusted: boolean;
  /** Why not, when not trusted. */
  trustError: string | null;
  /** --name: each and whether the certificate holds it (RFC 6125, as delivery checks names). */
  names: Array<{ name: string; held: boolean }>;
  connectors: ConnectorCheck[];
  /** What fails of what was asked (the chain, the dates, the names); empty: exit 0. */
  failures: string[];
}

/** Why a verifier would refuse the chain, and how RFC 8460 calls it. */
interface ChainProblem {
  error: string;
  failure: ChainFailure;
}

/** The certificate as checkServerIdentity reads a peer's. */
const asPeer = (certificate: X509Certificate): PeerCertificate => certificate.toLegacyObject();

function namesHeld(names: readonly string[], certificate: X509Certificate): Array<{ name: string; held: boolean }> {
  const peer = asPeer(certificate);
  return names.map((name) => ({ name, held: checkServerIdentity(name, peer) === undefined }));
}

/** The chain's trouble above the certificate itself, first found first: an issuer out of date, then revocation. */
function trustProblem(chain: ChainReport, links: readonly X509Certificate[], revocation: CertCheckReport['revocation'], now: Date): ChainProblem | null {
  if (!chain.complete) return { error: chain.problem ?? 'the chain does not lead to a trust anchor here', failure: 'certificate-not-trusted' };
  for (const link of links.slice(1)) {
    const validity = validityAt(link, now);
    const subject = oneLineName(link.subject);
    if (validity.kind === 'expired') return { error: `"${subject}" expired on ${validity.notAfter.toISOString()}`, failure: 'certificate-expired' };
    if (validity.kind === 'not-yet-valid') return { error: `"${subject}" is not valid before ${validity.notBefore.toISOString()}`, failure: 'validation-failure' };
  }
  return revocation.status === 'good' ? null : { error: revocation.reason, failure: 'validation-failure' };
}

/** The certificate's own dates, as a verifier refuses them. */
function datesProblem(validity: Validity): ChainProblem | null {
  switch (validity.kind) {
    case 'valid':
      return null;
    case 'expired':
      return { error: `the certificate expired on ${validity.notAfter.toISOString()}`, failure: 'certificate-expired' };
    case 'not-yet-valid':
      return { error: `the certificate is not valid before ${validity.notBefore.toISOString()}`, failure: 'validation-failure' };
  }
}

/** The names a connector's level verify checks: tlsNames, else the host dialled — a smart host, or (MX) what --name stands for. */
function expectedNames(connector: OutboundConnector, asked: readonly string[]): string[] {
  if (connector.tlsNames.length > 0) return connector.tlsNames;
  if (connector.smartHosts.length > 0) return connector.smartHosts.map(({ host }) => host);
  return [...asked];
}

/** `refused`: why a verifier refuses the chain (its dates included), null when it does not. */
function connectorCheck(connector: OutboundConnector, leaf: X509Certificate, facts: CertificateReportBody, refused: ChainProblem | null, asked: readonly string[]): ConnectorCheck {
  const names = namesHeld(expectedNames(connector, asked), leaf);
  const pinned = connector.fingerprints.map(formatFingerprint);
  const pins = pinned.length === 0 ? null : { configured: pinned, matched: pinned.includes(facts.fingerprints.certificate) || pinned.includes(facts.fingerprints.publicKey) };
  // the names count for the verdict (verified or trusted) at every level, but only verify refuses for them
  const common = { connector: connector.name, level: connector.tls, pins, names: connector.tls === 'verify' ? names : [] };
  if (connector.tls === 'dane' || connector.tls === 'dane-only') return { ...common, outcome: { action: 'not-judged', why: 'DANE matches the TLSA records the recipient domain publishes, which a delivery looks up' } };
  if (connector.tls === 'verify' && names.length === 0) return { ...common, outcome: { action: 'not-judged', why: 'verify checks the MX host dialled, which only a delivery knows: give it with --name' } };
  const host = names[0]?.name ?? connector.name;
  const observed: EstablishedTls = {
    kind: 'established',
    // no session: no protocol or cipher to tell
    protocol: 'unknown',
    cipher: 'unknown',
    chainValid: refused === null,
    ...(refused === null ? {} : { chainError: refused.error, chainFailure: refused.failure }),
    nameMatched: names.some(({ held }) => held),
    ...(names.some(({ held }) => held) ? {} : { nameError: `the certificate names none of ${names.map(({ name }) => name).join(', ')}` }),
    fingerprintMatched: pins?.matched ?? false,
    fingerprint: facts.fingerprints.certificate.replace(/^sha256:/, ''),
  };
  return { ...common, outcome: outcomeOfDecision(decideTls(connectorRule(connector), host, observed)) };
}

/**
 * The report on `certificates` (a file's, leaf first) against the anchors and CRLs here,
 * `names` (--name) and the config's outbound connectors.
 */
export function certCheckReport(config: Config, file: string, certificates: X509Certificate[], names: readonly string[], anchors: TrustAnchor[], crls: RevocationList[], now: Date): CertCheckReport {
  const [leaf] = certificates;
  if (leaf === undefined) throw new Error('no certificate to check');
  const facts = certificateBody(certificateFacts(leaf.raw), now);
  const found = chainToAnchor(certificates, anchors);
  const chain = chainReport(found, 'file');
  const links = found.path.map((link) => link.certificate);
  const revoked = checkRevocation(links, crls, now);
  const revocation: CertCheckReport['revocation'] = revoked.kind === 'good' ? { status: 'good' } : { status: 'failed', reason: revoked.reason };
  const trust = trustProblem(chain, links, revocation, now);
  const validity = validityAt(leaf, now);
  const refused = datesProblem(validity) ?? trust;
  const held = namesHeld(names, leaf);
  const failures = [
    ...(trust === null ? [] : [`not trusted here: ${trust.error}`]),
    ...(validity.kind === 'valid' ? [] : [validity.kind === 'expired' ? `expired on ${validity.notAfter.toISOString()}` : `not valid before ${validity.notBefore.toISOString()}`]),
    ...held.filter(({ held }) => !held).map(({ name }) => `does not hold the name ${name}`),
  ];
  return {
    file,
    certificate: facts,
    validity: { state: validity.kind, daysLeft: facts.daysLeft },
    chain,
    revocation,
    trusted: trust === null,
    trustError: trust?.error ?? null,
    names: held,
    connectors: config.outbound.map((connector) => connectorCheck(connector, leaf, facts, refused, names)),
    failures,
  };
}
