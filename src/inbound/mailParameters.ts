import type { SMTPServer } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { checkRequireTlsParameter } from '../policy/requireTls.js';
import { replaceConnectionStep } from './connectionStep.js';

/**
 * smtp-server judges the parameters of MAIL FROM before any hook runs, and two of its
 * verdicts are not the relay's (the check is not reachable per server or per session in
 * its API, hence one replacement of the step, for the servers given here; other servers
 * in the process keep smtp-server's own):
 * - `SIZE=` over its `size` option: refused in its own words and against the server-wide
 *   value, which a reload changes under sessions already open. That verdict is left to
 *   onMailFrom, which answers 552 5.3.4 against the session's own limit; smtp-server still
 *   checks every other parameter, and still advertises `SIZE n` in EHLO.
 * - `REQUIRETLS` in a plaintext session: refused as `530 5.7.10 REQUIRETLS needs TLS`, the
 *   code RFC 8689 gives it, before smtp-server's own check says so without one.
 */
export function judgeMailParameters(server: SMTPServer): void {
  replaceConnectionStep(server, '_validateMailParams', (validate) =>
    function (this: SMTPConnection, parsed) {
      if (parsed.args && parsed.args.REQUIRETLS !== undefined) {
        const tls = checkRequireTlsParameter(this.secure);
        if (!tls.ok) return { code: tls.code, message: tls.message, enhancedCode: null };
      }
      const verdict = validate.call(this, parsed);
      if (verdict?.enhancedCode !== 'MESSAGE_TOO_BIG' || !parsed.args) return verdict;
      const { SIZE: _declared, ...others } = parsed.args;
      return validate.call(this, { ...parsed, args: others });
    },
  );
}
