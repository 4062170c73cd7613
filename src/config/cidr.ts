import { parseIp } from './ip.js';

/** A range with its address in canonical form; IPv4-mapped ranges are IPv4 ones. */
export interface Subnet {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/**
 * A range as the loader keeps it (`range` is the subnet as text: `10.0.0.0/8`), or why
 * the text is not one (`why` only where more can be said than "not a range").
 */
export type CidrParse = { ok: true; range: string; subnet: Subnet } | { ok: false; why?: string };

function parsed(subnet: Subnet): CidrParse {
  return { ok: true, range: `${subnet.address}/${subnet.prefix}`, subnet };
}

/** The IPv4-mapped block ::ffff:0:0/96: its last 32 bits are the IPv4 address. */
const MAPPED_BITS = 96;

/**
 * A CIDR range as `address/prefix` in canonical form; a bare address means that one
 * host (/32 or /128). An IPv4-mapped range (`::ffff:10.0.0.0/104`, `::ffff:a00:0/104`)
 * becomes the IPv4 range it names (`10.0.0.0/8`): clients are compared as IPv4, and a
 * mapped range could otherwise never match one. A mapped prefix under /96 would also
 * cover IPv6 addresses that map nothing, so it is refused. Zone ids are refused.
 */
export function parseCidr(text: string): CidrParse {
  const [address = '', prefix, extra] = text.split('/');
  const ip = parseIp(address);
  if (ip === undefined || extra !== undefined) return { ok: false };
  const bits = ip.family === 4 && !ip.mapped ? 32 : 128;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits)) return { ok: false };
  const length = prefix === undefined ? bits : Number(prefix);
  if (!ip.mapped) return parsed({ family: ip.family, address: ip.address, prefix: length });
  if (length < MAPPED_BITS) {
    return { ok: false, why: `an IPv4-mapped range needs a prefix of /${MAPPED_BITS} or more (::ffff:0:0/96 is every IPv4 address); /${length} also covers IPv6 addresses` };
  }
  return parsed({ family: 4, address: ip.address, prefix: length - MAPPED_BITS });
}
