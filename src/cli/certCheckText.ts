import type { CertCheckReport, ConnectorCheck } from './certCheckReport.js';
import { daysText, keyStrength, originText } from './certText.js';
import { listOrNone, outcomeText, rows, type Row } from './explainRows.js';

// The human form of `tlsrelay cert check`: the verdict first, then the certificate, its
// chain, and what each outbound connector would make of a next hop that presents it.

function validityText({ validity, certificate }: CertCheckReport): string {
  const period = `${certificate.notBefore} to ${certificate.notAfter}`;
  switch (validity.state) {
    case 'valid':
      return `${period} (in date: ${daysText(validity.daysLeft)})`;
    case 'expired':
      return `${period} (${daysText(validity.daysLeft)})`;
    case 'not-yet-valid':
      return `${period} (not yet valid: from ${certificate.notBefore})`;
  }
}

const heldText = (names: ConnectorCheck['names']): string => listOrNone(names.map(({ name, held }) => `${name} ${held ? 'held' : 'not held'}`));

function connectorRows(check: ConnectorCheck): Row[] {
  const outcome = check.outcome.action === 'not-judged' ? `not judged: ${check.outcome.why}` : outcomeText(check.outcome);
  return [
    [`${check.connector} (${check.level})`, outcome],
    ...(check.pins === null ? [] : [['  pins', `${check.pins.matched ? 'one matches' : 'none matches'}: ${check.pins.configured.join(', ')}`] as Row]),
    ...(check.names.length === 0 ? [] : [['  names', heldText(check.names)] as Row]),
  ];
}

export function certCheckText(report: CertCheckReport): string {
  const { certificate: c, chain } = report;
  const top = chain.path.at(-1);
  const summary: Row[] = [
    ['verdict', report.failures.length === 0 ? 'fine: trusted here, in date, holds every name asked for' : report.failures],
    ['trusted here', report.trusted ? `yes: leads to ${chain.rootIssuer ?? ''} (${top ? originText(top) : ''})` : `no: ${report.trustError ?? ''}`],
    ['validity', validityText(report)],
    ['names asked', report.names.length === 0 ? 'none (--name)' : heldText(report.names)],
  ];
  const details: Row[] = [
    ['subject', c.subject],
    ['issuer', c.issuer],
    ['names (SAN)', listOrNone([...c.dnsNames, ...c.ipAddresses.map((ip) => `IP ${ip}`)])],
    ['key strength', keyStrength(c.key)],
    ['certificate pin', c.fingerprints.certificate],
    ['public key pin', c.fingerprints.publicKey],
    ['chain', chain.path.map((link) => `${link.subject} (${originText(link)}; until ${link.notAfter})`)],
    ['CRLs (tls.crl)', report.revocation.status === 'good' ? 'nothing revoked' : report.revocation.reason],
  ];
  const connectors = report.connectors.flatMap(connectorRows);
  const width = Math.max(...[...summary, ...details, ...connectors].map(([label]) => label.length));
  return `${[
    `cert check ${report.file}`,
    ...rows(summary, '  ', width),
    'certificate',
    ...rows(details, '  ', width),
    'outbound connectors, were a next hop to present it',
    ...(connectors.length === 0 ? ['  none configured'] : rows(connectors, '  ', width)),
  ].join('\n')}\n`;
}
