import { isIP } from 'node:net';
import { parseHostName } from '../config/domain-name.js';
import { UsageError } from './args.js';

/** `--name N` of cert check and tls probe: a host name or an IP address, as tlsNames and checkServerIdentity take them. */
export function parseNameArgument(text: string): string {
  const name = isIP(text) === 0 ? parseHostName(text) : text;
  if (name === undefined) throw new UsageError(`--name "${text}" is not a host name or an IP address`);
  return name;
}
