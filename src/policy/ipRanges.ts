import { BlockList, isIP } from 'node:net';

const listsByRanges = new WeakMap<readonly string[], BlockList>();

/** '::ffff:127.0.0.1' and '127.0.0.1' are one client: compare mapped addresses as IPv4. */
export function unmapIpv4(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped?.[1] ?? ip;
}

function blockListOf(ranges: readonly string[]): BlockList {
  let list = listsByRanges.get(ranges);
  if (list) return list;
  list = new BlockList();
  for (const range of ranges) {
    const [address = '', prefix] = range.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const bits = prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix);
    list.addSubnet(unmapIpv4(address), bits, family);
  }
  listsByRanges.set(ranges, list);
  return list;
}

/** Whether an IP lies in one of the CIDR ranges (validated by the config loader). */
export function ipInRanges(ip: string, ranges: readonly string[]): boolean {
  const address = unmapIpv4(ip);
  const family = isIP(address);
  if (family === 0) return false;
  return blockListOf(ranges).check(address, family === 6 ? 'ipv6' : 'ipv4');
}
