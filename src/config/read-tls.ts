import type { Node } from 'yaml';
import { fail, MapReader, type Field } from './reader.js';
import { listOf, path } from './values.js';
import { FirstOccurrences } from './unique.js';
import { checkFile, type FileCheck } from './file-check.js';
import { readKey, readKeys } from './read-keys.js';
import { keyNames } from './key-spec.js';
import { CERTIFICATE_KEYS, TLS_KEYS } from './keys.js';
import type { CertificateEntry, ConfigPlaces, TlsConfig } from './types.js';

export interface TlsSection {
  tls: TlsConfig;
  places: ConfigPlaces;
  /**
   * Whether the admin set up our certificate at all. Checks that need one ask this, not
   * whether the files are fine, so a bad path is reported once, not again by every user.
   */
  certificateConfigured: boolean;
  /** The names of tls.certificates, for the connectors' clientCertificate; undefined when the list could not be read. */
  certificateNames: string[] | undefined;
}

type PairKey = 'cert' | 'key';

const WHAT: Record<PairKey, string> = { cert: 'certificate', key: 'key' };

/**
 * Our certificate and key go together: both files must be there, or — with
 * generateIfMissing — both missing, to be made at start. Half a pair is the same error
 * for check-config and start: a new half would not fit the other.
 */
function checkPair(section: MapReader, files: Record<PairKey, string | undefined>, generateIfMissing: boolean): void {
  const checks: Record<PairKey, FileCheck | undefined> = {
    cert: files.cert === undefined ? undefined : checkFile(files.cert),
    key: files.key === undefined ? undefined : checkFile(files.key),
  };
  for (const [key, other] of [['cert', 'key'], ['key', 'cert']] as const) {
    const check = checks[key];
    if (check === undefined || check.state === 'readable') continue;
    const field = section.fieldOf(key);
    const place = section.placeOf(key);
    if (check.state === 'unusable') {
      fail(field, place, `cannot read ${files[key]}: ${check.reason}`);
    } else if (checks[other]?.state === 'readable') {
      fail(field, place, `file not found: ${files[key]}, but tls.${other} ${files[other]} exists: it needs the ${WHAT[key]} it belongs with (tls.generateIfMissing makes a pair only when both files are missing)`);
    } else if (!generateIfMissing) {
      fail(field, place, `file not found: ${files[key]} (set tls.generateIfMissing: true to create a self-signed pair for testing)`);
    }
  }
}

/** One pair of tls.certificates; where its files are named goes into `places`. */
function readCertificate(node: Node, field: Field, names: FirstOccurrences, places: ConfigPlaces): CertificateEntry {
  const map = MapReader.open(field, node, keyNames(CERTIFICATE_KEYS), node);
  const { name, cert = '', key = '' } = readKeys(map, CERTIFICATE_KEYS);
  if (name !== undefined) names.claim(map.fieldOf('name'), map.placeOf('name'), name);
  Object.assign(places, map.placesOf('cert', `${field.label}.cert`), map.placesOf('key', `${field.label}.key`));
  return { name, cert, key };
}

function readCertificates(section: MapReader, places: ConfigPlaces): CertificateEntry[] {
  const names = new FirstOccurrences('certificate name');
  const item = (node: Node, field: Field): CertificateEntry => readCertificate(node, field, names, places);
  return section.optional('certificates', listOf(item, { nonEmpty: TLS_KEYS.certificates.nonEmpty }), []);
}

export function readTls(root: MapReader): TlsSection {
  const section = root.section('tls', keyNames(TLS_KEYS));
  const generateIfMissing = readKey(section, TLS_KEYS, 'generateIfMissing');
  // checked as a pair below, so that half a pair is one message whatever the command
  const cert = readKey(section, TLS_KEYS, 'cert', path);
  const key = readKey(section, TLS_KEYS, 'key', path);
  const hasCert = section.has('cert') || section.isInvalid('cert');
  const hasKey = section.has('key') || section.isInvalid('key');
  const listPlaces: ConfigPlaces = {};
  const certificates = readCertificates(section, listPlaces);
  const hasList = certificates.length > 0 || section.isInvalid('certificates');
  if (hasList && (hasCert || hasKey)) {
    fail(section.fieldOf('certificates'), section.keyPlaceOf('certificates'), 'cannot stand beside tls.cert and tls.key: list that pair here too, and leave those two out');
  }
  if (hasCert !== hasKey) {
    const [given, missing] = hasCert ? ['cert', 'key'] : ['key', 'cert'];
    fail(section.fieldOf(given), section.keyPlaceOf(given), `needs tls.${missing} too: the two go together`);
  } else {
    checkPair(section, { cert, key }, generateIfMissing);
  }
  if (generateIfMissing && !hasCert && !hasKey) {
    fail(section.fieldOf('generateIfMissing'), section.placeOf('generateIfMissing'), 'needs tls.cert and tls.key: the files to create');
  }
  return {
    tls: {
      cert,
      key,
      certificates,
      generateIfMissing,
      trust: readKey(section, TLS_KEYS, 'trust'),
      crl: readKey(section, TLS_KEYS, 'crl'),
      ocsp: readKey(section, TLS_KEYS, 'ocsp'),
      ocspStapling: readKey(section, TLS_KEYS, 'ocspStapling'),
      minVersion: readKey(section, TLS_KEYS, 'minVersion'),
      ciphers: readKey(section, TLS_KEYS, 'ciphers'),
    },
    places: {
      ...section.placesOf('cert', 'tls.cert'),
      ...section.placesOf('key', 'tls.key'),
      ...listPlaces,
      ...section.itemPlacesOf('trust', 'tls.trust'),
      ...section.itemPlacesOf('crl', 'tls.crl'),
    },
    certificateConfigured: hasCert || hasKey || hasList || generateIfMissing || root.isInvalid('tls'),
    certificateNames: section.isInvalid('certificates') ? undefined : certificates.flatMap(({ name }) => (name === undefined ? [] : [name])),
  };
}
