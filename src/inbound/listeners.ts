import { constants as cryptoConstants } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Config, ListenerConfig } from '../config/types.js';
import type { TlsMaterial } from '../tls/material.js';
import { RelaySessionHooks, type InboundDependencies } from './relaySession.js';

export interface RunningListener {
  name: string;
  address: string;
  /** The bound port (differs from the configured one when that was 0). */
  port: number;
  server: SMTPServer;
}

export interface InboundServers {
  listeners: RunningListener[];
  /** Stops accepting connections; resolves when the servers are closed. */
  close(): Promise<void>;
}

/** Client certificates are asked for only when some connector judges sessions by them. */
function wantsClientCertificates(config: Config): boolean {
  return config.inbound.some((connector) => connector.match.certificateNames || connector.require.certificateNames);
}

function serverOptions(listener: ListenerConfig, config: Config, tls: TlsMaterial, hooks: RelaySessionHooks): SMTPServerOptions {
  const disabledCommands = [...(listener.tls === 'none' ? ['STARTTLS'] : []), ...(listener.auth === 'none' ? ['AUTH'] : [])];
  return {
    name: config.server.hostname,
    banner: 'tlsrelay',
    secure: listener.tls === 'implicit',
    // smtp-server's built-in certificate has a public key: never run without ours
    ...(listener.tls !== 'none' ? { key: tls.key, cert: tls.cert } : {}),
    minVersion: config.tls.minVersion,
    ciphers: config.tls.ciphers,
    honorCipherOrder: true,
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
    requestCert: wantsClientCertificates(config),
    // an untrusted client certificate is a fact for the policy, not a reason to hang up
    rejectUnauthorized: false,
    ca: tls.ca,
    disabledCommands,
    authOptional: listener.auth !== 'required',
    size: config.smtp.maxMessageSize,
    maxClients: config.smtp.maxClients,
    maxRecipients: config.smtp.maxRecipients,
    socketTimeout: config.smtp.idleTimeout,
    // no reverse lookup: it costs up to 1.5 s per connection and decides nothing here
    disableReverseLookup: true,
    hideDSN: false,
    // RFC 8689 is not honoured yet: do not advertise what we cannot keep
    hideREQUIRETLS: true,
    logger: false,
    onConnect: (session, done) => hooks.onConnect(session, done),
    onClose: (session) => hooks.onClose(session),
    onSecure: (socket, session, done) => hooks.onSecure(socket, session, done),
    onMailFrom: (address, session, done) => hooks.onMailFrom(address, session, done),
    onRcptTo: (address, session, done) => hooks.onRcptTo(address, session, done),
    onData: (stream, session, done) => hooks.onData(stream, session, done),
  };
}

function listen(server: SMTPServer, listener: ListenerConfig): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`listener "${listener.name}" cannot listen on ${listener.address}:${listener.port}: ${err.message}`));
    server.server.once('error', onError);
    server.listen(listener.port, listener.address, () => {
      server.server.off('error', onError);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

/** Starts every configured listener; if one cannot bind, the others are closed again. */
export async function startListeners(config: Config, tls: TlsMaterial, deps: InboundDependencies): Promise<InboundServers> {
  const running: RunningListener[] = [];
  const closeAll = (): Promise<void> =>
    Promise.all(running.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
  try {
    for (const listener of config.listeners) {
      const hooks = new RelaySessionHooks(listener, deps);
      const server = new SMTPServer(serverOptions(listener, config, tls, hooks));
      server.on('error', (err) => deps.logger.warn({ listener: listener.name, err: err.message }, 'inbound connection error'));
      const port = await listen(server, listener);
      running.push({ name: listener.name, address: listener.address, port, server });
      deps.logger.info({ listener: listener.name, address: listener.address, port, tls: listener.tls, auth: listener.auth }, 'listening');
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { listeners: running, close: closeAll };
}
