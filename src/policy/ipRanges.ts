import { BlockList } from 'node:net';
import { parseCidr } from '../config/cidr.js';
import { parseIp } from '../config/ip.js';

/**
 * The ranges of one list, by family. Node's BlockList would match an IPv4 address against
 * an IPv6 subnet that holds its mapped form (`::/0` matches 10.1.2.3): kept apart, an IPv6
 * range never matches an IPv4 client.
 */
interface RangeLists {
  ipv4: BlockList;
  ipv6: BlockList;
}

const listsByRanges = new WeakMap<readonly string[], RangeLists>();

/** '::ffff:127.0.0.1', '::ffff:7f00:1' and '127.0.0.1' are one client: mapped addresses are IPv4. */
export function unmapIpv4(ip: string): string {
  return parseIp(ip)?.address ?? ip;
}

function listsOf(ranges: readonly string[]): RangeLists {
  let lists = listsByRanges.get(ranges);
  if (lists) return lists;
  lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const range of ranges) {
    const parsed = parseCidr(range);
    if (!parsed.ok) continue; // the loader refused it already
    const { family, address, prefix } = parsed.subnet;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    lists[type].addSubnet(address, prefix, type);
  }
  listsByRanges.set(ranges, lists);
  return lists;
}

/** Whether an IP lies in one of the CIDR ranges (as the config loader accepts them). */
export function ipInRanges(ip: string, ranges: readonly string[]): boolean {
  const client = parseIp(ip);
  if (client === undefined) return false;
  const family = client.family === 6 ? 'ipv6' : 'ipv4';
  return listsOf(ranges)[family].check(client.address, family);
}
