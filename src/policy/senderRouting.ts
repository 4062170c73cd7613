/**
 * Whether a recipient address asks for sender-specified routing: a local part with `%`
 * (the percent hack: `user%evil.test@victim.test`), `!` (a UUCP bang path:
 * `evil.test!user@victim.test`) or a further `@`. The relay judges an address only by the
 * domain after its last `@`, but a next hop that honours such a local part forwards the
 * mail on to the domain inside it — relaying for a client that was never allowed to
 * relay. Postfix refuses them from untrusted clients (`allow_untrusted_routing = no`).
 * Quoting does not change what a next hop may make of them, so `"user%evil.test"@…`
 * counts too. (Source routes, `<@a,@b:user@c>`, never get here: smtp-server drops them,
 * as RFC 5321 §3.3 lets a server do.)
 */
export function hasSenderSpecifiedRouting(address: string): boolean {
  const at = address.lastIndexOf('@');
  const localPart = at < 0 ? address : address.slice(0, at);
  return /[%!@]/.test(localPart);
}
