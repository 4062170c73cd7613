import type { Logger } from '../log.js';
import type { Dated, DatedKind } from '../tls/dated.js';
import { daysLeft } from '../tls/expirySchedule.js';

// The words of the expiry warnings: check-config's `FILE:LINE:COL: warning:` lines, and
// the log lines of a running relay (a fixed message per kind to grep for, the facts in fields).

const inDays = (days: number): string => (days === 0 ? 'in less than a day' : days === 1 ? 'in 1 day' : `in ${days} days`);

function expiryText(dated: Dated, now: Date): string {
  const { setting, file, subject } = dated;
  const end = dated.end.toISOString();
  const left = inDays(daysLeft(dated.end, now));
  const past = dated.end <= now;
  switch (dated.kind) {
    case 'certificate':
      return past
        ? `${setting}: the certificate ${file} expired on ${end}: clients refuse it; install a renewed one`
        : `${setting}: the certificate ${file} expires on ${end} (${left}); renew it before then`;
    case 'trust-anchor':
      return past
        ? `${setting}: the trust anchor "${subject}" in ${file} expired on ${end}: certificates that chain only to it no longer verify; replace it`
        : `${setting}: the trust anchor "${subject}" in ${file} expires on ${end} (${left}); certificates that chain only to it stop verifying then: replace it before then`;
    case 'crl':
      return past
        ? `${setting}: the CRL of "${subject}" in ${file} is past its nextUpdate ${end}: the certificates that CA issued fail verification (CRL_HAS_EXPIRED) until a newer CRL is installed`
        : `${setting}: the CRL of "${subject}" in ${file} reaches its nextUpdate on ${end} (${left}); then the certificates that CA issued fail verification (CRL_HAS_EXPIRED): install a newer CRL before then`;
  }
}

/** check-config's line, at the place that names the file (else the config file). */
export function expiryWarningLine(dated: Dated, now: Date, configFile: string): string {
  return `${dated.place ?? configFile}: warning: ${expiryText(dated, now)}`;
}

const LOG_MESSAGES: Record<DatedKind, { soon: string; past: string }> = {
  certificate: {
    soon: 'our certificate expires soon; renew it before then',
    past: 'our certificate has expired: clients refuse it; install a renewed one',
  },
  'trust-anchor': {
    soon: 'a trust anchor (tls.trust) expires soon; replace it before then',
    past: 'a trust anchor (tls.trust) has expired: certificates that chain only to it no longer verify',
  },
  crl: {
    soon: 'a CRL reaches its nextUpdate soon; install a newer one before then',
    past: 'a CRL is past its nextUpdate: the certificates its issuer signed fail verification (CRL_HAS_EXPIRED) until a newer one is installed',
  },
};

/** The relay's log line for one warning. */
export function logExpiryWarning(logger: Logger, dated: Dated, now: Date): void {
  const { kind, setting, connector, file, place, subject, end } = dated;
  const message = LOG_MESSAGES[kind][end <= now ? 'past' : 'soon'];
  logger.warn({ setting, ...(connector === undefined ? {} : { connector }), file, where: place, subject, expires: end.toISOString(), daysLeft: daysLeft(end, now) }, message);
}
