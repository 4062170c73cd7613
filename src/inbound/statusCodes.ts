import type { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { withOneStatusCode, type Reply } from './oneStatusCode.js';

const servers = new WeakSet<SMTPServer>();
let installed = false;

/**
 * For the servers given here (which set `hideENHANCEDSTATUSCODES: false`), every reply goes
 * through withOneStatusCode. smtp-server writes all its replies through `send`, but offers
 * no hook on them, hence the wrapper (see sizeDeclaration.ts for the other ones).
 */
export function sendOneStatusCode(server: SMTPServer): void {
  servers.add(server);
  if (installed) return;
  installed = true;
  const send = SMTPConnection.prototype.send;
  SMTPConnection.prototype.send = function (this: SMTPConnection, ...reply: Reply) {
    send.apply(this, servers.has(this._server) ? withOneStatusCode(reply) : reply);
  };
}
