import { isAscii, isUtf8 } from 'node:buffer';
import type { SMTPServer, SMTPServerAddress } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { AddressCharset } from '../policy/addressCharset.js';
import { replaceConnectionStep } from './connectionStep.js';

const charsets = new WeakMap<SMTPServerAddress, AddressCharset>();

/**
 * smtp-server turns the A-labels of an address's domain into Unicode before any hook sees
 * it (`user@xn--bcher-kva.test` arrives as `user@bücher.test`), so a hook cannot tell an
 * ASCII address, fine in any session, from one written in UTF-8, which needs SMTPUTF8
 * (RFC 6531 §3.4). For the servers given here the address as it came on the wire is
 * looked at once more and its charset kept for addressCharset(). (The parser is not
 * reachable per server in smtp-server's API, hence the replacement.)
 */
export function recordAddressCharsets(server: SMTPServer): void {
  replaceConnectionStep(server, '_parseAddressCommand', (parse) =>
    function (this: SMTPConnection, name, command) {
      const parsed = parse.call(this, name, command);
      if (parsed) charsets.set(parsed, charsetAsSent(command));
      return parsed;
    },
  );
}

/** The charset of the address between the command's angle brackets (the parser accepted it, so they are there). */
function charsetAsSent(command: Buffer | string): AddressCharset {
  const line = typeof command === 'string' ? Buffer.from(command, 'utf8') : command;
  const open = line.indexOf('<');
  const address = line.subarray(open + 1, line.indexOf('>', open));
  if (isAscii(address)) return 'ascii';
  return isUtf8(address) ? 'utf8' : 'not-utf8';
}

/** As recorded while parsing; an address the wrapper did not see is judged by what smtp-server made of it. */
export function addressCharset(address: SMTPServerAddress): AddressCharset {
  return charsets.get(address) ?? (/[^\x00-\x7f]/.test(address.address) ? 'utf8' : 'ascii');
}
