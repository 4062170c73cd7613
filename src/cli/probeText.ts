import type { CertificateReportBody } from './certReport.js';
import { daysText, keyStrength, originText } from './certText.js';
import { listOrNone, outcomeText, rows, type Row } from './explainRows.js';
import { mtaStsRows, tlsaLines } from './lookupText.js';
import type { LevelRow, ProbeReport, ProbeTls, StapledStatus, StarttlsResult } from './probeReport.js';

// The human form of `tlsrelay tls probe`: what was dialled and why, the SMTP dialogue, the
// TLS session and the chain the peer sent, what the recipient domain publishes, and what
// each outbound level would make of the session. Scripts use --json: this text may change
// shape, the facts in it may not.

const STARTTLS: Record<StarttlsResult, string> = {
  implicit: 'not used: TLS from the first byte (--implicit)',
  'not-offered': 'not offered by the server',
  refused: 'refused; the session went on in plaintext',
  'refused-and-closed': 'refused, and the server closed the connection',
  accepted: 'accepted',
};

function destinationText({ destination, probed }: ProbeReport): string {
  if (destination.kind === 'domain') return `tls probe ${destination.given}: the route of mail to ${destination.given}`;
  return `tls probe ${destination.given}: ${probed.host} itself (no MX lookup)`;
}

function judgedText({ judged, connector }: ProbeReport): string {
  return judged.by === 'connector' ? `${judged.level}, the level of connector ${connector.name}` : `${judged.level} (no --connector): whether switching to verify would deliver`;
}

function overviewRows(report: ProbeReport): Row[] {
  const { connector, probed, dns } = report;
  const names = connector.tlsNames.length > 0 ? listOrNone(connector.tlsNames) : `${probed.host} (the host dialled)`;
  return [
    ['connector', `${connector.name}: ${connector.why}`],
    ['judged by', judgedText(report)],
    ['names expected', names],
    ['pins', listOrNone(connector.fingerprints)],
    ['client certificate', connector.clientCertificate === null ? 'none presented' : `${connector.clientCertificate}, presented when the server asks`],
    ['DNS', `${listOrNone(dns.servers)} (dns.dnssec ${dns.dnssec ? 'on' : 'off'})`],
    ['route', report.route.map(({ host, port, preference, addresses }) => `${host}:${port} (preference ${preference}): ${addresses.join(', ')}`)],
    [
      'probed',
      `${probed.peer}:${probed.port} from ${probed.sourceIp ?? 'an unknown address'}, ${probed.tls === 'implicit' ? 'TLS from the start' : 'STARTTLS'}, SNI ${probed.serverName ?? 'none (an IP address)'}`,
    ],
  ];
}

function sessionRows(report: ProbeReport): Row[] {
  const dialogue = report.dialogue.map(({ reply, lines }): Row => [reply, lines]);
  const failure: Row[] = report.handshakeFailure === null ? [] : [['handshake', `failed: ${report.handshakeFailure}`]];
  return [...dialogue, ['extensions', listOrNone(report.extensions)], ['STARTTLS result', STARTTLS[report.starttls]], ...failure];
}

function stapledText(status: StapledStatus): string {
  if (status.kind === 'invalid') return `invalid: ${status.reason}`;
  const dates = `thisUpdate ${status.thisUpdate}, nextUpdate ${status.nextUpdate ?? 'none'}`;
  if (status.kind === 'revoked') return `revoked at ${status.revokedAt}${status.reason === null ? '' : ` (${status.reason})`}; ${dates}`;
  return `${status.kind}; ${dates}`;
}

function ocspText(ocsp: ProbeTls['ocsp']): string {
  return ocsp.stapled ? `stapled, ${ocsp.bytes} bytes: ${stapledText(ocsp.status)}` : 'requested, none stapled';
}

function tlsRows(tls: ProbeTls): Row[] {
  const { chain } = tls;
  const top = chain.path.at(-1);
  const root = chain.complete && top !== undefined ? `${chain.rootIssuer ?? ''} (${originText(top)})` : `not found: ${chain.problem ?? ''}`;
  const keyExchange = tls.keyExchange === null ? 'not told' : `${tls.keyExchange.type}${tls.keyExchange.name === null ? '' : ` ${tls.keyExchange.name}`} (${tls.keyExchange.bits} bits)`;
  const names = tls.names.each.map(({ name, matched }) => `${name}: ${matched ? 'held' : 'not held'}`);
  return [
    ['protocol', tls.protocol],
    ['cipher', tls.cipher === tls.cipherStandardName ? tls.cipher : `${tls.cipher} (${tls.cipherStandardName})`],
    ['key exchange', keyExchange],
    ['OCSP', ocspText(tls.ocsp)],
    ['chain trusted', tls.trusted ? 'yes: verified against the system roots and tls.trust, and the CRLs' : `no: ${tls.trustError ?? ''}`],
    ['root', root],
    ['names', tls.names.matched ? names : [...names, tls.names.error ?? '']],
    ...(tls.pins === null
      ? []
      : ([
          ['certificate pin', `${tls.pins.certificate} (changes with every renewal)`],
          ['public key pin', `${tls.pins.publicKey} (stays while the key is kept)`],
        ] as Row[])),
  ];
}

function certificateRows(certificate: CertificateReportBody): Row[] {
  return [
    ['issuer', certificate.issuer],
    ['names (SAN)', listOrNone([...certificate.dnsNames, ...certificate.ipAddresses.map((ip) => `IP ${ip}`)])],
    ['validity', `${certificate.notBefore} to ${certificate.notAfter} (${daysText(certificate.daysLeft)})`],
    ['key', keyStrength(certificate.key)],
    ['signature', certificate.signatureAlgorithm],
    ['serial', certificate.serial],
    ['certificate pin', certificate.fingerprints.certificate],
  ];
}

function levelText(row: LevelRow): string {
  const outcome = row.outcome.action === 'not-used' ? `not used: ${row.outcome.response}` : outcomeText(row.outcome);
  return row.decidedBy === 'connector' || row.decidedBy === 'none' ? outcome : `${outcome} (decided by ${row.decidedBy})`;
}

/** The whole text. */
export function probeText(report: ProbeReport): string {
  const { tls } = report;
  const links = tls?.chain.path ?? [];
  const certificates = (tls?.certificates ?? []).map((certificate, index) => {
    const link = links[index];
    return { title: `  ${certificate.subject}${link ? ` (${originText(link)})` : ''}`, rows: certificateRows(certificate) };
  });
  const overview = { title: destinationText(report), rows: overviewRows(report) };
  const session = { title: 'session', rows: sessionRows(report) };
  const tlsSection = { title: 'TLS', rows: tls ? tlsRows(tls) : [['none', report.handshakeFailure === null ? STARTTLS[report.starttls] : `the handshake failed: ${report.handshakeFailure}`] as Row] };
  const published = { title: 'published policies', rows: [['DANE', tlsaLines({ owner: null, finding: report.published.dane.finding })] as Row, ...mtaStsRows(report.published.mtaSts)] };
  const levels = { title: 'what each level would do with this session', rows: report.levels.map((row): Row => [row.level, levelText(row)]) };
  const result = `${report.result.delivers ? 'would deliver' : 'would defer'} at ${report.result.level}: ${levelText(report.result)}`;
  // one column of values under every section and certificate
  const width = Math.max(...[overview, session, tlsSection, published, levels, ...certificates].flatMap((section) => section.rows.map(([label]) => label.length)));
  const block = (section: { title: string; rows: Row[] }): string[] => [section.title, ...rows(section.rows, '  ', width + 2)];
  const chain = certificates.length === 0 ? [] : ['chain the peer sent (as Node links it, leaf first)', ...certificates.flatMap((group) => [group.title, ...rows(group.rows, '    ', width)])];
  return `${[...block(overview), ...block(session), ...block(tlsSection), ...chain, ...block(published), ...block(levels), `result${' '.repeat(width + 4 - 'result'.length)}${result}`].join('\n')}\n`;
}
