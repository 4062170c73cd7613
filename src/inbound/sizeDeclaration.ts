import type { SMTPServer } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { replaceConnectionStep } from './connectionStep.js';

/**
 * smtp-server refuses a MAIL FROM whose `SIZE=` is over its `size` option before any hook
 * runs, in its own words and against the server-wide value, which a reload changes under
 * sessions already open. For
 * the servers given here that one verdict is left to onMailFrom, which answers 552 5.3.4
 * against the session's own limit; smtp-server still checks every other parameter, and
 * still advertises `SIZE n` in EHLO. (The check is not reachable per server or per session
 * in smtp-server's API, hence the replacement; other servers in the process keep its check.)
 */
export function leaveSizeLimitToHooks(server: SMTPServer): void {
  replaceConnectionStep(server, '_validateMailParams', (validate) =>
    function (this: SMTPConnection, parsed) {
      const verdict = validate.call(this, parsed);
      if (verdict?.enhancedCode !== 'MESSAGE_TOO_BIG' || !parsed.args) return verdict;
      const { SIZE: _declared, ...others } = parsed.args;
      return validate.call(this, { ...parsed, args: others });
    },
  );
}
