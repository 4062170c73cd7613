import { BlockList, isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { normalizeDomain } from '../config/domain.js';
import { unmapIpv4 } from '../policy/ipRanges.js';
import type { ServerName } from './smtpClient.js';

// Is the next hop this relay itself? On this host the listeners say exactly which
// address and port are ours; elsewhere (behind NAT, a port mapping, a wrong MX) only the
// name tells, as Postfix reads it: the server names itself with our server.hostname.
// Pure: the caller passes the host's interfaces and what the server said.

/** A listener of this relay as it is bound: a configured port 0 is the port it got. */
export interface OwnListener {
  name: string;
  address: string;
  port: number;
}

/** The host's interfaces, as `os.networkInterfaces()` returns them. */
export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** What the relay knows of where it runs. */
export interface ThisHost {
  /** Bound once the relay listens. */
  listeners: readonly OwnListener[];
  /** Read when needed: interfaces come and go. */
  interfaces: () => Interfaces;
}

type Family = 'ipv4' | 'ipv6';

function familyOf(address: string): Family | undefined {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

/**
 * The addresses that reach this host: those of its interfaces, the whole subnet of a
 * loopback interface (127.0.0.2 reaches a socket bound to 0.0.0.0 as 127.0.0.1 does),
 * and the unspecified addresses, which a connection turns into the local host.
 */
function localAddresses(interfaces: Interfaces): BlockList {
  const list = new BlockList();
  list.addAddress('0.0.0.0', 'ipv4');
  list.addAddress('::', 'ipv6');
  for (const info of Object.values(interfaces).flat()) {
    if (info === undefined) continue;
    const family = familyOf(info.address);
    if (family === undefined) continue;
    const prefix = info.cidr === null ? undefined : Number(info.cidr.split('/')[1]);
    if (info.internal && prefix !== undefined) list.addSubnet(info.address, prefix, family);
    else list.addAddress(info.address, family);
  }
  return list;
}

function sameAddress(a: string, b: string, family: Family): boolean {
  if (familyOf(a) !== family) return false;
  const list = new BlockList();
  list.addAddress(a, family);
  return list.check(b, family);
}

function isOnThisHost(address: string, family: Family, host: ThisHost): boolean {
  return localAddresses(host.interfaces()).check(address, family);
}

/**
 * The listener of ours that a connection to `address`:`port` would reach, if any. A
 * listener bound to 0.0.0.0 answers on every local IPv4 address; one bound to `::` on
 * every local address of both families (Node listens dual-stack there).
 */
export function ownListenerAt(address: string, port: number, host: ThisHost): OwnListener | undefined {
  const target = unmapIpv4(address);
  const family = familyOf(target);
  if (family === undefined) return undefined;
  return host.listeners.find((listener) => {
    if (listener.port !== port) return false;
    const bound = unmapIpv4(listener.address);
    if (bound === '::') return isOnThisHost(target, family, host);
    if (bound === '0.0.0.0') return family === 'ipv4' && isOnThisHost(target, family, host);
    return sameAddress(bound, target, family);
  });
}

/**
 * The first of the names a server at `address` gave itself that is our hostname (case and
 * a trailing dot aside) — unless the server is on this host: there ownListenerAt knows
 * what is ours, and another MTA beside us may well share the host's name (Postfix, for
 * that reason, looks at names only on port 25, so that a content filter on the same host
 * can answer on another port).
 */
export function namedAsMyself(address: string, names: readonly ServerName[], hostname: string, host: ThisHost): ServerName | undefined {
  const ours = normalizeDomain(hostname);
  const given = ours === undefined ? undefined : names.find((name) => normalizeDomain(name.name) === ours);
  if (given === undefined) return undefined;
  const target = unmapIpv4(address);
  const family = familyOf(target);
  return family !== undefined && isOnThisHost(target, family, host) ? undefined : given;
}

/** Why the next hop is taken for this relay, in Postfix's words where Postfix has them. */
export function loopEvidence(peer: string, sign: { listener: OwnListener } | { named: ServerName }): string {
  if ('listener' in sign) {
    const { name, address, port } = sign.listener;
    return `host ${peer} is this relay: its listener "${name}" (${address}:${port})`;
  }
  const { reply, name } = sign.named;
  return reply === 'greeting' ? `host ${peer} greeted me with my own hostname ${name}` : `host ${peer} replied to ${reply} with my own hostname ${name}`;
}
