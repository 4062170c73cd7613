import type { SMTPServerSession } from 'smtp-server';
import { domainOfAddress, normalizeDomain } from '../config/domain.js';
import type { BodyType, NewMessage } from '../queue/types.js';

/**
 * The address with its domain in ASCII (A-labels), the form that needs no SMTPUTF8 at any
 * next hop; the local part as it is. smtp-server hands on `user@xn--bcher-kva.test` as
 * `user@bücher.test`, and a client with SMTPUTF8 may write `user@ｖｉｃｔｉｍ.test`: both
 * name the domain the relay routes to (normalizeDomain), and that is the name it passes on.
 */
export function withAsciiDomain(address: string): string {
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1);
  if (at < 0 || !/[^\x00-\x7f]/.test(domain)) return address;
  const ascii = normalizeDomain(domain);
  return ascii === undefined ? address : `${address.slice(0, at)}@${ascii}`;
}

/**
 * What the spool keeps of a transaction's envelope: sender and recipients (domains in
 * A-labels; two spellings of one recipient count once), the DSN parameters, and BODY=,
 * SMTPUTF8 and REQUIRETLS as the client gave them at MAIL FROM (read from the accepted
 * command: smtp-server's own copies outlive a MAIL FROM that a hook refused).
 */
export function newMessage(envelope: SMTPServerSession['envelope']): NewMessage {
  const recipients: NewMessage['recipients'] = [];
  const seen = new Set<string>();
  for (const rcpt of envelope.rcptTo) {
    const address = withAsciiDomain(rcpt.address);
    if (seen.has(address.toLowerCase())) continue;
    seen.add(address.toLowerCase());
    recipients.push({
      address,
      domain: domainOfAddress(address) ?? '',
      ...(rcpt.dsn?.notify ? { notify: rcpt.dsn.notify } : {}),
      ...(rcpt.dsn?.orcpt ? { orcpt: rcpt.dsn.orcpt } : {}),
    });
  }
  const mailFrom = envelope.mailFrom || undefined;
  const args = mailFrom?.args || {};
  const body = typeof args.BODY === 'string' ? args.BODY.toUpperCase() : undefined;
  return {
    from: mailFrom ? withAsciiDomain(mailFrom.address) : '',
    recipients,
    ...(envelope.dsn?.ret === 'FULL' || envelope.dsn?.ret === 'HDRS' ? { ret: envelope.dsn.ret } : {}),
    ...(envelope.dsn?.envid ? { envid: envelope.dsn.envid } : {}),
    ...(body === '7BIT' || body === '8BITMIME' ? { body: body satisfies BodyType } : {}),
    ...(args.SMTPUTF8 === true ? { smtputf8: true as const } : {}),
    ...(args.REQUIRETLS === true ? { requireTls: true as const } : {}),
  };
}
