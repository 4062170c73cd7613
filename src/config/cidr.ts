import { isIP } from 'node:net';

/**
 * A CIDR range as `address/prefix`; a bare address means that one host (/32 or /128).
 * Zone ids (`fe80::1%eth0`) are refused: net.BlockList cannot match them.
 */
export function parseCidr(text: string): string | undefined {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined || address.includes('%')) return undefined;
  const maxPrefix = family === 4 ? 32 : 128;
  if (prefix === undefined) return `${address.toLowerCase()}/${maxPrefix}`;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) return undefined;
  return `${address.toLowerCase()}/${Number(prefix)}`;
}
