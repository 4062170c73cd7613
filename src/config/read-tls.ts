import { fail, type MapReader, type ValueReader } from './reader.js';
import { boolean, cipherList, existingFile, listOf, oneOf, readableFile } from './values.js';
import { TLS_DEFAULTS } from './defaults.js';
import { TLS_VERSIONS, type TlsConfig } from './types.js';

const TLS_KEYS = ['cert', 'key', 'generateIfMissing', 'trust', 'crl', 'minVersion', 'ciphers'] as const;

export interface TlsSection {
  tls: TlsConfig;
  /**
   * Whether the admin set up our certificate at all. Checks that need one ask this, not
   * whether the files are fine, so a bad path is reported once, not again by every user.
   */
  certificateConfigured: boolean;
}

/** Our own cert and key must exist, unless the tls room is told to generate them. */
function ownFile(generateIfMissing: boolean): ValueReader<string> {
  const hint = ' (set tls.generateIfMissing: true to create a self-signed pair for testing)';
  return existingFile(generateIfMissing ? { allowed: true } : { allowed: false, hint });
}

export function readTls(root: MapReader): TlsSection {
  const section = root.section('tls', TLS_KEYS);
  const generateIfMissing = section.optional('generateIfMissing', boolean, TLS_DEFAULTS.generateIfMissing);
  const cert = section.read('cert', ownFile(generateIfMissing));
  const key = section.read('key', ownFile(generateIfMissing));
  const hasCert = section.has('cert') || section.isInvalid('cert');
  const hasKey = section.has('key') || section.isInvalid('key');
  if (hasCert !== hasKey) {
    const [given, missing] = hasCert ? ['cert', 'key'] : ['key', 'cert'];
    fail(section.fieldOf(given), section.keyPlaceOf(given), `needs tls.${missing} too: the two go together`);
  }
  if (generateIfMissing && !hasCert && !hasKey) {
    fail(section.fieldOf('generateIfMissing'), section.placeOf('generateIfMissing'), 'needs tls.cert and tls.key: the files to create');
  }
  return {
    tls: {
      cert,
      key,
      generateIfMissing,
      trust: section.optional('trust', listOf(readableFile), []),
      crl: section.optional('crl', listOf(readableFile), []),
      minVersion: section.optional('minVersion', oneOf(TLS_VERSIONS), TLS_DEFAULTS.minVersion),
      ciphers: section.optional('ciphers', cipherList, TLS_DEFAULTS.ciphers),
    },
    certificateConfigured: hasCert || hasKey || generateIfMissing || root.isInvalid('tls'),
  };
}
