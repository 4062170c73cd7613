import { isIP } from 'node:net';

/**
 * `mx.test[192.0.2.1]`, as Postfix names a peer in its texts; a host dialled by its IP is
 * just that IP. The deferral texts of a live session and of its replay (`policy what-if`)
 * name the peer with this.
 */
export function peerName(host: string, address: string): string {
  return isIP(host) === 0 ? `${host}[${address}]` : host;
}
