import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { Config } from '../config/types.js';
import { oneLineName } from './distinguishedName.js';
import { parseCrlFile, type RevocationList } from './crl.js';

// What the relay holds that runs out on a date: the certificate it serves, the tls.trust
// anchors and the CRLs it enforces. The expiry warnings are made from these.

export type DatedKind = 'certificate' | 'trust-anchor' | 'crl';

export interface Dated {
  kind: DatedKind;
  /** The config key that names the file, as messages say it: `tls.cert`, `tls.trust`, `tls.crl`, `outbound[1].crl`. */
  setting: string;
  /** The outbound connector whose `crl` names the file. */
  connector?: string;
  file: string;
  /** `FILE:LINE:COL` of the file's name in the config. */
  place: string | undefined;
  /** The certificate's subject, or the CRL issuer's name. */
  subject: string;
  /** notAfter of a certificate, nextUpdate of a CRL. */
  end: Date;
}

export function certificateDated(kind: 'certificate' | 'trust-anchor', setting: string, file: string, place: string | undefined, certificate: X509Certificate): Dated {
  return { kind, setting, file, place, subject: oneLineName(certificate.subject), end: new Date(certificate.validTo) };
}

/** tls.crl's lists (a CRL without nextUpdate never runs out). */
export function tlsCrlDated(config: Config, lists: readonly RevocationList[]): Dated[] {
  return lists.flatMap(({ source, issuerName, nextUpdate }) =>
    nextUpdate === undefined ? [] : [{ kind: 'crl', setting: 'tls.crl', file: source, place: config.places[`tls.crl[${config.tls.crl.indexOf(source)}]`], subject: issuerName, end: nextUpdate }],
  );
}

/**
 * The outbound connectors' CRLs, read now: deliveries read these files again each time,
 * so a file replaced since the start counts without a reload. One that cannot be read
 * now is left out: the next delivery under that connector says why it defers.
 */
export function connectorCrlDated(config: Config): Dated[] {
  return config.outbound.flatMap((connector, index) =>
    connector.crl.flatMap((file, item) => {
      let lists: RevocationList[];
      try {
        lists = parseCrlFile(readFileSync(file, 'utf8'), file);
      } catch {
        return [];
      }
      const place = config.places[`outbound[${index}].crl[${item}]`];
      return lists.flatMap(({ issuerName, nextUpdate }): Dated[] =>
        nextUpdate === undefined ? [] : [{ kind: 'crl', setting: `outbound[${index}].crl`, connector: connector.name, file, place, subject: issuerName, end: nextUpdate }],
      );
    }),
  );
}
