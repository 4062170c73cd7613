import { isQueueId } from './queueId.js';
import type { AttemptOutcome, BodyType, CertVerdict, Envelope, Octets, RecipientState, RequireTlsAttempt } from './types.js';

// Envelopes are read back from disk, where anything can happen to them (a full disk, a
// hand edit, a bug in an older version): every field is checked before the relay acts
// on it, and the first problem is named so the operator can see what was wrong.

export type DecodedEnvelope = { ok: true; envelope: Envelope } | { ok: false; problem: string };

const RECIPIENT_STATES: readonly RecipientState[] = ['pending', 'delivered', 'bounced'];
const OUTCOMES: readonly AttemptOutcome[] = ['delivered', 'deferred', 'bounced'];
const VERDICTS: readonly CertVerdict[] = ['verified', 'trusted', 'pinned', 'dane', 'untrusted', 'none'];
const RETURNS = ['FULL', 'HDRS'] as const;
const BODY_TYPES: readonly BodyType[] = ['7BIT', '8BITMIME'];
const OCTETS: readonly Octets[] = ['7bit', '8bit'];
const REQUIRE_TLS_ATTEMPTS: readonly RequireTlsAttempt[] = ['met', 'no-tls', 'not-authenticated', 'not-advertised', 'no-session'];

export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope, null, 2) + '\n';
}

/** Parses and validates envelope JSON; `expectedId` is the ID its file name says. */
export function decodeEnvelope(text: string, expectedId?: string): DecodedEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `not JSON: ${(err as Error).message}` };
  }
  const problem = envelopeProblem(value);
  if (problem !== undefined) return { ok: false, problem };
  const envelope = value as Envelope;
  if (expectedId !== undefined && envelope.id !== expectedId) {
    return { ok: false, problem: `id ${JSON.stringify(envelope.id)} does not match its file name ${expectedId}` };
  }
  return { ok: true, envelope };
}

/** What is wrong with an envelope, or undefined when it is sound. */
export function envelopeProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not an object';
  if (!isQueueId(value.id)) return 'id is not a queue ID';
  if (!isIsoTime(value.receivedAt)) return 'receivedAt is not a time';
  if (typeof value.from !== 'string') return 'from is not a string';
  if (!Array.isArray(value.recipients) || value.recipients.length === 0) return 'recipients is not a non-empty list';
  for (const [index, rcpt] of value.recipients.entries()) {
    const problem = recipientProblem(rcpt);
    if (problem !== undefined) return `recipients[${index}] ${problem}`;
  }
  if (!isCount(value.size)) return 'size is not a byte count';
  if (!isIsoTime(value.nextAttemptAt)) return 'nextAttemptAt is not a time';
  if (!Array.isArray(value.attempts)) return 'attempts is not a list';
  for (const [index, attempt] of value.attempts.entries()) {
    const problem = attemptProblem(attempt);
    if (problem !== undefined) return `attempts[${index}] ${problem}`;
  }
  if (!isOptional(value.ret, (ret) => isOneOf(ret, RETURNS))) return 'ret is not FULL or HDRS';
  if (!isOptional(value.envid, isString)) return 'envid is not a string';
  if (!isOptional(value.delayNoticeSent, isBoolean)) return 'delayNoticeSent is not a boolean';
  if (!isOptional(value.deferrals, isCount)) return 'deferrals is not a count';
  if (!isOptional(value.heldAt, isIsoTime)) return 'heldAt is not a time';
  // absent in envelopes written before the relay kept them
  if (!isOptional(value.body, (body) => isOneOf(body, BODY_TYPES))) return `body is not one of ${BODY_TYPES.join(', ')}`;
  if (!isOptional(value.smtputf8, (flag) => flag === true)) return 'smtputf8 is not true';
  if (!isOptional(value.tlsReport, (flag) => flag === true)) return 'tlsReport is not true';
  if (!isOptional(value.content, isContent)) return `content is not {header, body}, each one of ${OCTETS.join(', ')}`;
  if (!isOptional(value.requireTls, (flag) => flag === true)) return 'requireTls is not true';
  return undefined;
}

function isContent(value: unknown): boolean {
  return isRecord(value) && isOneOf(value.header, OCTETS) && isOneOf(value.body, OCTETS);
}

function recipientProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'is not an object';
  if (!isString(value.address) || value.address === '') return 'address is not a non-empty string';
  if (!isString(value.domain)) return 'domain is not a string';
  if (!isOneOf(value.state, RECIPIENT_STATES)) return `state is not one of ${RECIPIENT_STATES.join(', ')}`;
  if (!isOptional(value.lastError, isString)) return 'lastError is not a string';
  if (!isOptional(value.notify, (notify) => Array.isArray(notify) && notify.every(isString))) return 'notify is not a list of strings';
  if (!isOptional(value.orcpt, isString)) return 'orcpt is not a string';
  return undefined;
}

function attemptProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'is not an object';
  if (!isIsoTime(value.at)) return 'at is not a time';
  for (const key of ['domain', 'connector', 'tlsLevel', 'response'] as const) {
    if (!isString(value[key])) return `${key} is not a string`;
  }
  if (value.host !== null && !isString(value.host)) return 'host is not a string or null';
  if (value.tls !== null && !(isRecord(value.tls) && isString(value.tls.protocol) && isString(value.tls.cipher))) {
    return 'tls is not {protocol, cipher} or null';
  }
  if (!isOneOf(value.verdict, VERDICTS)) return `verdict is not one of ${VERDICTS.join(', ')}`;
  if (!isOneOf(value.outcome, OUTCOMES)) return `outcome is not one of ${OUTCOMES.join(', ')}`;
  if (typeof value.code !== 'number' || !Number.isInteger(value.code)) return 'code is not an integer';
  if (!isOptional(value.requireTls, (note) => isOneOf(note, REQUIRE_TLS_ATTEMPTS))) return `requireTls is not one of ${REQUIRE_TLS_ATTEMPTS.join(', ')}`;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function isOneOf<T>(value: unknown, allowed: readonly T[]): value is T {
  return allowed.includes(value as T);
}

function isOptional(value: unknown, check: (value: unknown) => boolean): boolean {
  return value === undefined || check(value);
}
