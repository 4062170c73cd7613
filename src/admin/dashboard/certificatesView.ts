import type { Dated, DatedKind } from '../../tls/dated.js';
import { daysLeft } from '../../tls/expirySchedule.js';

// The certificates the relay serves, the trust anchors and CRLs it checks with, each with
// the days it has left — the same list the expiry warnings and the expiry metric are made
// of, soonest first.

/** Below this many days a row is marked: the shipped alert rule fires under 14 days too. */
export const SOON_DAYS = 14;

export type ExpiryStatus = 'expired' | 'soon' | 'ok';

export interface CertificateRow {
  kind: DatedKind;
  /** The config key that names the file: `tls.cert`, `tls.trust`, `outbound[1].crl`. */
  setting: string;
  connector: string | null;
  file: string;
  subject: string;
  /** ISO: a certificate's notAfter, a CRL's nextUpdate. */
  end: string;
  /** Whole days (negative once past), as the expiry warnings count them. */
  daysLeft: number;
  status: ExpiryStatus;
}

export function expiryStatus(days: number): ExpiryStatus {
  if (days < 0) return 'expired';
  return days < SOON_DAYS ? 'soon' : 'ok';
}

export function certificateRows(dated: readonly Dated[], now: Date): CertificateRow[] {
  return dated
    .map(({ kind, setting, connector, file, subject, end }) => {
      const days = daysLeft(end, now);
      return { kind, setting, connector: connector ?? null, file, subject, end: end.toISOString(), daysLeft: days, status: expiryStatus(days) };
    })
    .sort((a, b) => a.end.localeCompare(b.end) || a.setting.localeCompare(b.setting));
}
