import type { SMTPServer } from 'smtp-server';
import type { SMTPConnection, TLSError } from 'smtp-server/lib/smtp-connection.js';
import type { Logger } from '../log.js';
import { unmapIpv4 } from '../policy/ipRanges.js';
import { replaceConnectionStep } from './connectionStep.js';
import { handshakeFailureReason } from './handshakeFailureReason.js';
import type { InboundObserver } from './inboundObserver.js';

/** One failed inbound handshake: who, and why in words (plus Node's code, to grep for). */
interface HandshakeFailure {
  client: string | undefined;
  clientPort: number | undefined;
  /** The SMTP session, for a handshake after STARTTLS (an implicit-TLS one fails before there is any). */
  sessionId?: string;
  reason: string;
  code: string | undefined;
}

/** The OpenSSL fields Node puts on its TLS errors (not in its types). */
type NodeTlsError = TLSError & { reason?: string };

/** Per server: reports a failure of a handshake after STARTTLS, once per connection. */
const afterStarttls = new WeakMap<SMTPServer, (connection: SMTPConnection, err: NodeTlsError) => void>();
const reported = new WeakSet<Error>();
const connectionsReported = new WeakSet<SMTPConnection>();

/**
 * Reports each failed TLS handshake of a server once, with the client's address and port
 * and a reason a person reads. smtp-server only emits the bare OpenSSL error on the server —
 * without the client's port, and twice after STARTTLS (from the TLS socket's `error` and
 * `_tlsError`). The implicit-TLS handshake runs in the server's `_upgrade`, before there
 * is a connection, and is seen there; a handshake after STARTTLS fails into the
 * connection's `_onError` while it is `_upgrading`. Both rely on smtp-server 3.x internals;
 * test/e2e/tlsHandshakeFailures.test.ts fails if an upgrade changes them.
 */
export function reportHandshakeFailures(server: SMTPServer, listener: string, listenerTls: 'implicit' | 'starttls', logger: Logger, observer?: InboundObserver): void {
  const report = ({ client, clientPort, sessionId, reason, code }: HandshakeFailure): void => {
    observer?.handshakeFailed(listener, reason);
    logger.warn(
      { listener, ...(sessionId ? { session: sessionId } : {}), client: client ? unmapIpv4(client) : null, clientPort: clientPort ?? null, reason, code: code ?? null },
      'inbound TLS handshake failed',
    );
  };
  const describe = (err: NodeTlsError): Pick<HandshakeFailure, 'reason' | 'code'> => {
    reported.add(err);
    return { reason: handshakeFailureReason({ code: err.code, reason: err.reason, protocol: err.meta?.tlsProtocol }, listenerTls), code: err.code };
  };
  if (listenerTls === 'implicit') {
    const upgrade = server._upgrade;
    server._upgrade = (socket, callback) =>
      upgrade.call(server, socket, (err, tlsSocket) => {
        if (err) report({ client: socket.remoteAddress, clientPort: socket.remotePort, ...describe(err) });
        callback(err, tlsSocket);
      });
    return;
  }
  afterStarttls.set(server, (connection, err) => {
    const failure = describe(err);
    if (connectionsReported.has(connection)) return;
    connectionsReported.add(connection);
    report({ client: connection.remoteAddress, clientPort: connection.remotePort, sessionId: connection.id, ...failure });
  });
  replaceConnectionStep(server, '_onError', (onError) =>
    function (this: SMTPConnection, err) {
      if (this._upgrading) afterStarttls.get(this._server)!(this, err);
      onError.call(this, err);
    },
  );
}

/** For the server's `error` listener: this error was reported as a failed handshake already. */
export function reportedAsHandshakeFailure(err: Error): boolean {
  return reported.has(err);
}
