import type { Node } from 'yaml';
import { fail, type Field } from './reader.js';
import { formatHostPort } from './host-port.js';
import { parseIp } from './ip.js';

/**
 * What a listening socket takes on its port: one address, every IPv4 address
 * (`0.0.0.0`), or every address (`::`, which Node binds dual-stack: IPv6 and IPv4).
 * An IPv4-mapped address (`::ffff:127.0.0.1`) binds as the IPv4 address it maps.
 */
type Reach = 'one' | 'every-ipv4' | 'every';

interface Endpoint {
  /** As the admin wrote it, for messages: `0.0.0.0:25`, `[::]:25`. */
  text: string;
  port: number;
  family: 4 | 6;
  /** Canonical, mapped addresses as IPv4. */
  address: string;
  reach: Reach;
  name: string;
  line: number;
}

const REACH_WORDS: Record<Exclude<Reach, 'one'>, string> = {
  'every-ipv4': 'takes every IPv4 address on its port',
  every: 'takes every IPv6 and IPv4 address on its port (Node listens dual-stack)',
};

function reachOf(family: 4 | 6, address: string): Reach {
  if (family === 6 && address === '::') return 'every';
  return family === 4 && address === '0.0.0.0' ? 'every-ipv4' : 'one';
}

/** Whether two sockets on one port collide: the second bind would fail with EADDRINUSE. */
function overlap(a: Endpoint, b: Endpoint): boolean {
  if (a.port !== b.port) return false;
  if (a.reach === 'every' || b.reach === 'every') return true;
  if (a.reach === 'every-ipv4' || b.reach === 'every-ipv4') return a.family === 4 && b.family === 4;
  return a.address === b.address;
}

/**
 * The listeners' addresses and ports, checked as the OS will bind them, so that a pair
 * that cannot both listen is a config error, not a failed start. Port 0 (a port the OS
 * picks) never collides.
 */
export class ListenerEndpoints {
  private readonly claimed: Endpoint[] = [];

  claim(field: Field, place: Node | undefined, name: string, address: string, port: number): void {
    const ip = parseIp(address);
    if (port === 0 || ip === undefined) return;
    const endpoint: Endpoint = {
      text: formatHostPort({ host: address, port }),
      port,
      family: ip.family,
      address: ip.address,
      reach: reachOf(ip.family, ip.address),
      name,
      line: field.ctx.issues.lineOf(place),
    };
    const clash = this.claimed.find((other) => overlap(other, endpoint));
    if (clash === undefined) {
      this.claimed.push(endpoint);
      return;
    }
    if (clash.address === endpoint.address) {
      fail(field, place, `address and port "${endpoint.text}" is already used at line ${clash.line} (listener "${clash.name}")`);
      return;
    }
    const wider = [clash, endpoint].find((one) => one.reach === 'every') ?? [clash, endpoint].find((one) => one.reach === 'every-ipv4')!;
    const reason = `${wider.text} ${REACH_WORDS[wider.reach as Exclude<Reach, 'one'>]}`;
    fail(field, place, `${endpoint.text} overlaps ${clash.text} of listener "${clash.name}" at line ${clash.line}: ${reason}, so the two cannot both listen`);
  }
}
