import { parseMailAddress } from '../config/mail-address.js';

// The `_smtp._tls.DOMAIN` TXT record (RFC 8460 §3): where a domain wants its TLS reports.
//
//   v=TLSRPTv1; rua=mailto:tlsrpt@example.test,https://reports.example.test/v1
//
// Records that do not begin with the version are someone else's; with none, or more than
// one, the domain asks for no reports. Unknown fields are ignored, as §3 says; a field that
// is not name=value, or a record without exactly one rua, makes the record unusable.

/** Where one report goes: a mail address, or an HTTPS endpoint that takes a POST. */
export type ReportDestination = { kind: 'mailto'; uri: string; address: string } | { kind: 'https'; uri: string; url: URL };

/** A rua URI the relay does not send to, and why. */
export interface SkippedUri {
  uri: string;
  reason: string;
}

export type ReportingPolicy =
  /** `destinations`: the URIs reports go to, in the record's order; `skipped`: the rest, each with its reason. */
  | { kind: 'policy'; destinations: ReportDestination[]; skipped: SkippedUri[] }
  /** The domain publishes no record: it asks for no reports. */
  | { kind: 'none'; reason: string }
  /** It publishes one the relay cannot use (malformed, several, no usable URI): no report either, but worth a warning. */
  | { kind: 'invalid'; reason: string };

/**
 * How many URIs of one rua get a report. RFC 8460 sets no number; a record with many
 * would make every report travel many times. DMARC's rule for the same case (RFC 7489
 * §6.2: a receiver may limit the URIs it reports to, but takes at least two) is followed:
 * the first two usable URIs, in the record's order; the others are logged as skipped.
 */
export const MAX_DESTINATIONS = 2;

const VERSION = /^v=TLSRPTv1[ \t]*(;|$)/;
/** tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})[ \t]*=[ \t]*(.*)$/;
/** tlsrpt-ext-value: visible ASCII but `;` and `=`. */
const EXTENSION_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/** One URI of the rua list (RFC 3986), read as a destination or skipped with the reason. */
export function readRuaUri(uri: string): ReportDestination | SkippedUri {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'mailto') {
    // RFC 6068: the address before any header fields, with commas written %2C
    let address: string | undefined;
    try {
      address = parseMailAddress(decodeURIComponent(uri.slice('mailto:'.length).split('?')[0]!));
    } catch {
      address = undefined;
    }
    return address === undefined ? { uri, reason: 'not a mailto: URI with one mail address' } : { kind: 'mailto', uri, address };
  }
  if (scheme === 'https') {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return { uri, reason: 'not a valid https: URL' };
    }
    if (url.hostname === '' || url.username !== '' || url.password !== '') return { uri, reason: 'an https: URL needs a host and no user or password' };
    return { kind: 'https', uri, url };
  }
  return { uri, reason: scheme === undefined ? 'not a URI' : `the scheme ${scheme}: is neither mailto: nor https: (RFC 8460 §3)` };
}

/** The fields of a record after its version, or why it has none to use. */
function readFields(record: string): { rua: string } | { problem: string } {
  const fields = record.split(';').map((field) => field.replace(/^[ \t]+|[ \t]+$/g, ''));
  // one `;` may end the record
  if (fields.length > 1 && fields.at(-1) === '') fields.pop();
  let rua: string | undefined;
  for (const field of fields.slice(1)) {
    const parsed = FIELD.exec(field);
    if (!parsed) return { problem: `the field "${field}" is not name=value` };
    const [, name, value] = parsed as unknown as [string, string, string];
    if (name === 'rua') {
      if (rua !== undefined) return { problem: 'it has two rua fields' };
      rua = value;
    } else if (!EXTENSION_VALUE.test(value)) {
      return { problem: `the field ${name} has a value that is not visible ASCII` };
    }
  }
  return rua === undefined ? { problem: 'it has no rua field' } : { rua };
}

/**
 * What the TXT records of `_smtp._tls.DOMAIN` ask for. `records` are whole records, their
 * character-strings joined without separator.
 */
export function readReportingPolicy(records: readonly string[]): ReportingPolicy {
  const candidates = records.filter((record) => VERSION.test(record));
  const [only] = candidates;
  if (only === undefined) return { kind: 'none', reason: 'no TXT record begins with v=TLSRPTv1' };
  if (candidates.length > 1) return { kind: 'invalid', reason: `${candidates.length} TXT records begin with v=TLSRPTv1; RFC 8460 §3 needs exactly one` };
  const fields = readFields(only);
  if ('problem' in fields) return { kind: 'invalid', reason: `the record "${only}" is malformed: ${fields.problem}` };
  const uris = fields.rua.split(',').map((uri) => uri.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (uris.some((uri) => uri === '')) return { kind: 'invalid', reason: `the record "${only}" is malformed: its rua has an empty URI` };
  const destinations: ReportDestination[] = [];
  const skipped: SkippedUri[] = [];
  for (const uri of uris) {
    const read = readRuaUri(uri);
    if (!('kind' in read)) skipped.push(read);
    else if (destinations.length < MAX_DESTINATIONS) destinations.push(read);
    else skipped.push({ uri, reason: `the relay reports to the first ${MAX_DESTINATIONS} URIs of a rua` });
  }
  if (destinations.length === 0) {
    const why = skipped.map((skip) => `${skip.uri}: ${skip.reason}`).join('; ');
    return { kind: 'invalid', reason: `the record "${only}" names no URI the relay can report to (${why})` };
  }
  return { kind: 'policy', destinations, skipped };
}
