import { isIP } from 'node:net';
import type { HostPort } from './types.js';
import { parseHostName } from './domain-name.js';

/** Whether the host part may be a name or must be an IP address (DNS servers: no chicken and egg). */
export type HostKind = 'name-or-ip' | 'ip';

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function splitHostPort(text: string): { host: string; port: string | undefined } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) return isIP(bracketed[1] ?? '') === 6 ? { host: bracketed[1] ?? '', port: bracketed[2] } : undefined;
  // A bare IPv6 address has colons of its own: it cannot carry a port without brackets.
  if (isIP(text) === 6) return { host: text, port: undefined };
  const colon = text.lastIndexOf(':');
  return colon < 0 ? { host: text, port: undefined } : { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** `name[:port]`, `1.2.3.4[:port]`, `[::1][:port]` or a bare IPv6 address; defaultPort when none is given. */
export function parseHostPort(text: string, defaultPort: number, kind: HostKind): HostPort | undefined {
  const parts = splitHostPort(text);
  if (!parts) return undefined;
  const port = parts.port === undefined ? defaultPort : parsePort(parts.port);
  if (port === undefined) return undefined;
  if (isIP(parts.host) !== 0) return parts.host.includes('%') ? undefined : { host: parts.host.toLowerCase(), port };
  if (kind === 'ip') return undefined;
  const host = parseHostName(parts.host);
  return host === undefined ? undefined : { host, port };
}

/** `name:port`, `1.2.3.4:port` or `[::1]:port`: the form parseHostPort reads back. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
