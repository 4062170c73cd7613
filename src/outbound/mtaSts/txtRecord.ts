// The `_mta-sts.DOMAIN` TXT record (RFC 8461 §3.1): it says that a policy exists and names
// its version, so a cached policy is fetched again only when the id changes.

export type StsRecord = { kind: 'record'; id: string } | { kind: 'none'; reason: string };

/** Records that do not begin with the version are someone else's (SPF, verification tokens, …). */
const STS_VERSION = /^v=STSv1[ \t]*(;|$)/;
const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})[ \t]*=[ \t]*(.*)$/;
/** sts-id: what a cached policy is known by. */
export const POLICY_ID = /^[A-Za-z0-9]{1,32}$/;
/** sts-ext-value: visible ASCII but `;` and `=`. */
const EXTENSION_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/** The id of one record that begins with `v=STSv1`, or why it is not a valid record. */
function readRecord(record: string): StsRecord {
  const fields = record.split(';').map((field) => field.replace(/^[ \t]+|[ \t]+$/g, ''));
  // one `;` may end the record
  if (fields.length > 1 && fields.at(-1) === '') fields.pop();
  let id: string | undefined;
  for (const field of fields.slice(1)) {
    const parsed = FIELD.exec(field);
    if (!parsed) return { kind: 'none', reason: `the record "${record}" has a field "${field}" that is not name=value` };
    const name = parsed[1];
    const value = parsed[2];
    if (name === 'id') {
      if (id !== undefined) return { kind: 'none', reason: `the record "${record}" has two ids` };
      if (!POLICY_ID.test(value)) return { kind: 'none', reason: `the record "${record}" has an id that is not 1 to 32 letters and digits` };
      id = value;
    } else if (!EXTENSION_VALUE.test(value)) {
      return { kind: 'none', reason: `the record "${record}" has a field ${name} with a value that is not visible ASCII` };
    }
  }
  return id === undefined ? { kind: 'none', reason: `the record "${record}" has no id` } : { kind: 'record', id };
}

/**
 * The policy id the TXT records of `_mta-sts.DOMAIN` announce: exactly one of them must
 * begin with `v=STSv1` and be valid; with none, two or a broken one the domain has no
 * available policy (RFC 8461 §3.1) — which does not by itself drop a cached one.
 * `records` are whole records, their character-strings joined without separator.
 */
export function readStsRecords(records: readonly string[]): StsRecord {
  const candidates = records.filter((record) => STS_VERSION.test(record));
  const [only] = candidates;
  if (only === undefined) return { kind: 'none', reason: 'no TXT record begins with v=STSv1' };
  if (candidates.length > 1) return { kind: 'none', reason: `${candidates.length} TXT records begin with v=STSv1; RFC 8461 §3.1 needs exactly one` };
  return readRecord(only);
}
