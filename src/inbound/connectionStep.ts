import type { SMTPServer } from 'smtp-server';
// without .js: tap's TypeScript loader maps the package's "./lib/*.js" export to *.js.js (Node maps both)
import { SMTPConnection } from 'smtp-server/lib/smtp-connection';

/** The steps of smtp-server's connection the relay changes, each for its own reason (see the callers). */
type Step = 'send' | '_parseAddressCommand' | '_validateMailParams' | 'handler_DATA' | '_createParser' | '_onError';

type AnyMethod = (this: SMTPConnection, ...args: unknown[]) => unknown;

const changedFor = new Map<Step, WeakSet<SMTPServer>>();

/**
 * smtp-server has no hook on some of its steps, and they live on the prototype its
 * connections share: so a step is replaced there once per process, and the replacement
 * runs only for connections of the servers given here — any other server in the process
 * keeps smtp-server's own. One replacement per step (a second caller's `replacement` is
 * not used, only its server added). This relies on smtp-server 3.x internals: each
 * caller's tests fail if an upgrade changes them.
 */
export function replaceConnectionStep<S extends Step>(server: SMTPServer, step: S, replacement: (original: SMTPConnection[S]) => SMTPConnection[S]): void {
  const known = changedFor.get(step);
  if (known) {
    known.add(server);
    return;
  }
  const servers = new WeakSet([server]);
  changedFor.set(step, servers);
  const prototype = SMTPConnection.prototype as unknown as Record<Step, AnyMethod>;
  const original = prototype[step];
  const replaced = replacement(original as unknown as SMTPConnection[S]) as unknown as AnyMethod;
  prototype[step] = function (this: SMTPConnection, ...args: unknown[]) {
    return (servers.has(this._server) ? replaced : original).apply(this, args);
  };
}
