import { parseHostName } from './domain-name.js';

// A mail address the relay itself writes into mail it sends (the TLS-RPT contact): an
// RFC 5321 dot-atom local part and a host name. No quoted local parts, no address
// literals: an address the operator types for a report header needs neither.

/** RFC 5322 atext. */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
export const LOCAL_PART = `${ATOM}(?:\\.${ATOM})*`;
const LOCAL_PART_ONLY = new RegExp(`^${LOCAL_PART}$`);

/** `local@host`, the host normalised; undefined when it is not such an address. */
export function parseMailAddress(text: string): string | undefined {
  const at = text.lastIndexOf('@');
  if (at <= 0 || !LOCAL_PART_ONLY.test(text.slice(0, at))) return undefined;
  const host = parseHostName(text.slice(at + 1));
  return host === undefined ? undefined : `${text.slice(0, at)}@${host}`;
}
