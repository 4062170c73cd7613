import type { Config, PlaceName } from '../config/types.js';

/** One pair the relay serves and presents, as the config names it. */
export interface CertificateFiles {
  /** tls.certificates[].name: what an outbound connector's clientCertificate calls it. */
  name: string | undefined;
  cert: string;
  key: string;
  /** The config labels of the two files (`tls.cert`, `tls.certificates[1].key`): in messages, and the keys of Config.places. */
  labels: { cert: PlaceName; key: PlaceName };
}

/** The pairs of a config, in its order: tls.cert and tls.key, or each of tls.certificates. */
export function certificateFilesOf({ tls }: Config): CertificateFiles[] {
  if (tls.cert !== undefined && tls.key !== undefined) return [{ name: undefined, cert: tls.cert, key: tls.key, labels: { cert: 'tls.cert', key: 'tls.key' } }];
  return tls.certificates.map(({ name, cert, key }, index) => ({
    name,
    cert,
    key,
    labels: { cert: `tls.certificates[${index}].cert`, key: `tls.certificates[${index}].key` },
  }));
}
