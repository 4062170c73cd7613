import type { PublicKeyFacts } from '../tls/certificateFacts.js';
import type { CertificateReport, CertInfoReport, LinkOrigin } from './certReport.js';
import { listOrNone, rows, type Row } from './explainRows.js';

// The human form of `tlsrelay cert info`: first the rows partners ask for (those of the
// table Exchange Online publishes for its own certificate), then what a verifier or a
// pin needs. Scripts use --json, so this text may change shape; the facts in it may not.

/** `RSA 2048 bits`, `EC P-256 (256 bits)`, `Ed25519 (256 bits)`: the row Exchange Online calls key strength. */
export function keyStrength({ type, bits, curve }: PublicKeyFacts): string {
  if (bits === null) return curve === null ? type : `${type} ${curve}`;
  if (curve === null) return type.startsWith('RSA') ? `${type} ${bits} bits` : `${type} (${bits} bits)`;
  return `${type} ${curve} (${bits} bits)`;
}

export function originText(origin: LinkOrigin): string {
  switch (origin.from) {
    case 'file':
      return 'in the file';
    case 'peer':
      return 'sent by the peer';
    case 'system':
      return 'system root store';
    case 'tls.trust':
      return `tls.trust ${origin.file}`;
  }
}

export function daysText(daysLeft: number): string {
  if (daysLeft < 0) return `expired ${-daysLeft} ${-daysLeft === 1 ? 'day' : 'days'} ago`;
  if (daysLeft === 0) return 'expires within a day';
  return `${daysLeft} ${daysLeft === 1 ? 'day' : 'days'} left`;
}

function rootText({ chain }: CertificateReport): string {
  if (chain.rootIssuer === null) return 'not found: the chain in the file stops short of a root (see chain)';
  const top = chain.path.at(-1)!;
  return chain.complete ? `${chain.rootIssuer} (${originText(top)})` : `${chain.rootIssuer} (in the file, not trusted here)`;
}

/** Which connectors present this pair, and by which clientCertificate value: `true` the first pair, its name a named one. */
function presentedText(report: CertificateReport, first: boolean): string {
  const values = [...(first ? ['true'] : []), ...(report.name === null ? [] : [report.name])];
  if (values.length === 0) return 'no outbound connector (clientCertificate takes the first pair, or a pair by its name: this one has none)';
  const which = `clientCertificate: ${values.join(' or ')}`;
  return report.presentedBy.length > 0 ? `outbound connectors ${report.presentedBy.join(', ')} (${which})` : `no outbound connector (none has ${which})`;
}

function certificateText(report: CertificateReport, first: boolean): string[] {
  const { certificate: c, chain } = report;
  const usedBy: Row[] = [
    ['served by', report.servedBy.length > 0 ? `listeners ${report.servedBy.join(', ')}` : 'no listener (every one has tls: none)'],
    ['presented by', presentedText(report, first)],
  ];
  const forPartners: Row[] = [
    ['root issuer', rootText(report)],
    ['certificate name', c.commonName ?? c.dnsNames[0] ?? c.subject],
    ['organization', listOrNone(c.organization)],
    ['key strength', keyStrength(c.key)],
    ['validity', `${c.notBefore} to ${c.notAfter} (${daysText(c.daysLeft)})`],
  ];
  const names = [...c.dnsNames, ...c.ipAddresses.map((ip) => `IP ${ip}`)];
  const details: Row[] = [
    ['subject', c.subject],
    ['issuer', c.issuer],
    ['names (SAN)', listOrNone(names)],
    ['organizational unit', listOrNone(c.organizationalUnit)],
    ['signature algorithm', c.signatureAlgorithm],
    ['serial', c.serial],
    ['certificate pin', `${c.fingerprints.certificate} (SHA-256 of the certificate: changes with every renewal)`],
    ['public key pin', `${c.fingerprints.publicKey} (SHA-256 of its public key, SPKI: stays while the key is kept)`],
    ['OCSP responder', listOrNone(c.ocspResponders)],
    ['CA issuers', listOrNone(c.caIssuers)],
    ['CRL distribution', listOrNone(c.crlDistributionPoints)],
    ['chain', chain.path.map((link) => `${link.subject} (${originText(link)}; until ${link.notAfter})`)],
    ['chain complete', chain.complete ? 'yes: it leads to a trust anchor here' : `no: ${chain.problem ?? ''}`],
  ];
  // one column of values under all three groups
  const width = Math.max(...[...usedBy, ...forPartners, ...details].map(([label]) => label.length));
  return [
    `${report.setting} ${report.file}${report.name === null ? '' : ` (name: ${report.name})`}`,
    ...rows(usedBy, '  ', width + 2),
    '  for partners (the rows of the table Exchange Online publishes for its own certificate)',
    ...rows(forPartners, '    ', width),
    '  details',
    ...rows(details, '    ', width),
  ];
}

/** The whole text; `pending` names a pair start has yet to make. */
export function certInfoText(report: CertInfoReport, pending: string | undefined): string {
  if (pending !== undefined) return `tls.cert ${pending} does not exist yet: tls.generateIfMissing makes a self-signed pair there at the first start\n`;
  if (report.certificates.length === 0) return 'no certificate: neither tls.cert nor tls.certificates is set, so no listener serves one and no connector presents one\n';
  return `${report.certificates.map((certificate, index) => certificateText(certificate, index === 0).join('\n')).join('\n\n')}\n`;
}
