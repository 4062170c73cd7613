import { MTA_STS_MODES, type MtaStsMode, type MtaStsPolicy } from '../../policy/mtaSts.js';

/** One year: RFC 8461 §3.2 caps max_age there; a larger value is read as this. */
export const MAX_AGE_LIMIT = 31_557_600;

export type ParsedPolicy = { kind: 'valid'; policy: MtaStsPolicy } | { kind: 'invalid'; reason: string };

/** `key: value` (RFC 8461 §3.2 sts-policy-ext-name, then field-delim); the value without surrounding blanks. */
const FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_AGE = /^[0-9]{1,10}$/;

/** The fields that appear once; what each must hold. */
const SINGLE_FIELDS = ['version', 'mode', 'max_age'] as const;
type SingleField = (typeof SINGLE_FIELDS)[number];
const isSingleField = (key: string): key is SingleField => (SINGLE_FIELDS as readonly string[]).includes(key);

/** An `mx` value in its canonical form (lower case, no trailing dot), or undefined when it is no `["*."] Domain`. */
function mxPattern(value: string): string | undefined {
  const pattern = value.replace(/\.$/, '').toLowerCase();
  const name = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  return name.length <= 253 && name.split('.').every((label) => LABEL.test(label)) ? pattern : undefined;
}

const isMode = (value: string): value is MtaStsMode => (MTA_STS_MODES as readonly string[]).includes(value);

interface Fields {
  mode?: MtaStsMode;
  maxAge?: number;
  mx: string[];
  /** Line of each single field seen, valid or not. */
  seen: Map<SingleField, number>;
}

/** One single field's value into `fields`, or what is wrong with it into `problems`. */
function readSingle(fields: Fields, key: SingleField, value: string, problems: string[]): void {
  switch (key) {
    case 'version':
      if (value !== 'STSv1') problems.push(`version is "${value}", not STSv1`);
      return;
    case 'mode':
      if (isMode(value)) fields.mode = value;
      else problems.push(`mode is "${value}", not enforce, testing or none`);
      return;
    case 'max_age':
      if (MAX_AGE.test(value)) fields.maxAge = Math.min(Number(value), MAX_AGE_LIMIT);
      else problems.push(`max_age "${value}" is not a number of seconds (1 to 10 digits)`);
  }
}

function readLine(fields: Fields, raw: string, line: number, problems: string[]): void {
  if (raw.trim() === '') return;
  const field = FIELD.exec(raw);
  if (!field) {
    problems.push(`line ${line} is not "key: value"`);
    return;
  }
  const key = field[1];
  const value = field[2];
  if (key === 'mx') {
    const pattern = mxPattern(value);
    if (pattern === undefined) problems.push(`line ${line}: mx "${value}" is neither a host name nor *. and a domain`);
    else fields.mx.push(pattern);
    return;
  }
  // any other key is an extension, ignored (RFC 8461 §3.2)
  if (!isSingleField(key)) return;
  const earlier = fields.seen.get(key);
  if (earlier !== undefined) {
    problems.push(`${key} is given twice (lines ${earlier} and ${line})`);
    return;
  }
  fields.seen.set(key, line);
  readSingle(fields, key, value, problems);
}

/**
 * Reads a policy as served at `/.well-known/mta-sts.txt` (RFC 8461 §3.2): `key: value`
 * lines ended by LF or CRLF; `version: STSv1`, `mode` and `max_age` once each, `mx` once
 * or more (it may be left out under `mode: none`); other keys are extensions and ignored.
 * Blank lines are passed over. An invalid policy is no policy: `reason` names every
 * problem, for logs and TLS-RPT.
 */
export function parseMtaStsPolicy(text: string): ParsedPolicy {
  const problems: string[] = [];
  const fields: Fields = { mx: [], seen: new Map() };
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => readLine(fields, raw, index + 1, problems));
  for (const key of SINGLE_FIELDS) if (!fields.seen.has(key)) problems.push(`no ${key} field`);
  const { mode, maxAge, mx } = fields;
  if (mx.length === 0 && mode !== 'none') problems.push('no mx field (only mode none may leave it out)');
  if (mode === undefined || maxAge === undefined || problems.length > 0) return { kind: 'invalid', reason: problems.join('; ') };
  return { kind: 'valid', policy: { mode, mx, maxAge } };
}
