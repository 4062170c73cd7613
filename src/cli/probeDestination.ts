import { isIP } from 'node:net';
import { parseHostName } from '../config/domain-name.js';
import { parseHostPort } from '../config/host-port.js';

// What `tls probe` is given to dial, as posttls-finger reads its destination: a mail
// domain is looked up (its MX hosts, or the smart hosts of its connector), a name in
// brackets or an IP address is dialled itself.

/** `port`: undefined when not given (delivery.port, or 465 for implicit TLS). */
export type DestinationArgument =
  /** `fabrikam.test[:PORT]`: the route a delivery to that domain takes. */
  | { kind: 'domain'; domain: string; port: number | undefined }
  /** `[mx.fabrikam.test][:PORT]`, `192.0.2.1[:PORT]`, `[2001:db8::1][:PORT]`: that host, no MX lookup. */
  | { kind: 'host'; host: string; port: number | undefined };

/** No default: told apart from a port given, which parseHostPort would otherwise hide. */
const NO_PORT = 0;

const withPort = (port: number): number | undefined => (port === NO_PORT ? undefined : port);

/** The destination, or undefined when it is none of the forms. */
export function parseDestination(text: string): DestinationArgument | undefined {
  const bracketed = /^\[([^\]]+)\](:.*)?$/.exec(text);
  if (bracketed && isIP(bracketed[1]!) === 0) {
    if (parseHostName(bracketed[1]!) === undefined) return undefined;
    const parsed = parseHostPort(`${bracketed[1]!}${bracketed[2] ?? ''}`, NO_PORT, 'name-or-ip');
    return parsed && { kind: 'host', host: parsed.host, port: withPort(parsed.port) };
  }
  const parsed = parseHostPort(text, NO_PORT, 'name-or-ip');
  if (parsed === undefined) return undefined;
  return isIP(parsed.host) === 0 ? { kind: 'domain', domain: parsed.host, port: withPort(parsed.port) } : { kind: 'host', host: parsed.host, port: withPort(parsed.port) };
}
