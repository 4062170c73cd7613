import type { SMTPServer } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { replaceConnectionStep } from './connectionStep.js';
import { withOneStatusCode, type Reply } from './oneStatusCode.js';

/**
 * For the servers given here (which set `hideENHANCEDSTATUSCODES: false`), every reply goes
 * through withOneStatusCode. smtp-server writes all its replies through `send`, but offers
 * no hook on them, hence the replacement.
 */
export function sendOneStatusCode(server: SMTPServer): void {
  replaceConnectionStep(server, 'send', (send) =>
    function (this: SMTPConnection, ...reply: Reply) {
      send.apply(this, withOneStatusCode(reply));
    },
  );
}
