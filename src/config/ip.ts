import { isIP } from 'node:net';

/** An IP address in its one canonical text, so that two spellings of one address compare equal. */
export interface CanonicalIp {
  family: 4 | 6;
  /** IPv4 dotted quad; IPv6 lower-case and compressed as RFC 5952 writes it (`2001:db8::1`). */
  address: string;
  /** Written as an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, `::ffff:a00:1`); `address` is then the IPv4 address. */
  mapped: boolean;
}

// The WHATWG URL parser writes IPv6 hosts in RFC 5952 form: an IPv4-mapped address always
// comes out as `::ffff:` and two hex groups, however it was written.
const MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

function ipv4OfGroups(high: string, low: string): string {
  const value = (parseInt(high, 16) << 16) | parseInt(low, 16);
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

/**
 * The canonical form of an IP address, or undefined for anything else. Zone ids
 * (`fe80::1%eth0`) are refused: nothing here can match or bind them.
 */
export function parseIp(text: string): CanonicalIp | undefined {
  const family = isIP(text);
  if (family === 4) return { family: 4, address: text, mapped: false };
  if (family !== 6 || text.includes('%')) return undefined;
  const address = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = MAPPED.exec(address);
  if (mapped) return { family: 4, address: ipv4OfGroups(mapped[1]!, mapped[2]!), mapped: true };
  return { family: 6, address, mapped: false };
}

/** 127.0.0.0/8 and ::1 (IPv4-mapped forms too): reachable only from this machine. */
export function isLoopback(text: string): boolean {
  const ip = parseIp(text);
  if (ip === undefined) return false;
  return ip.family === 4 ? ip.address.startsWith('127.') : ip.address === '::1';
}
