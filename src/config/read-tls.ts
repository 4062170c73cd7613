import { fail, type MapReader, type ValueReader } from './reader.js';
import { existingFile } from './values.js';
import { readKey } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { TLS_KEYS } from './keys.js';
import type { TlsConfig } from './types.js';

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
  const section = root.section('tls', keyNames(TLS_KEYS));
  const generateIfMissing = readKey(section, TLS_KEYS, 'generateIfMissing');
  const cert = readKey(section, TLS_KEYS, 'cert', ownFile(generateIfMissing));
  const key = readKey(section, TLS_KEYS, 'key', ownFile(generateIfMissing));
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
      trust: readKey(section, TLS_KEYS, 'trust'),
      crl: readKey(section, TLS_KEYS, 'crl'),
      minVersion: readKey(section, TLS_KEYS, 'minVersion'),
      ciphers: readKey(section, TLS_KEYS, 'ciphers'),
    },
    certificateConfigured: hasCert || hasKey || generateIfMissing || root.isInvalid('tls'),
  };
}
