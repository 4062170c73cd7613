import { constants as cryptoConstants } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Config, ListenerConfig } from '../config/types.js';
import type { TlsMaterial } from '../tls/material.js';
import { servingOptions } from '../tls/servingOptions.js';
import { AUTH_REQUIRED_REPLY } from '../policy/listenerAuth.js';
import type { DeadlineLimits } from '../policy/requestDeadline.js';
import { recordAddressCharsets } from './addressCharset.js';
import { commandObservingLogger } from './commandObserver.js';
import { drainListener } from './drain.js';
import { judgeMailParameters } from './mailParameters.js';
import { stapleOn } from './ocspStapling.js';
import { SHUTDOWN_GRACE_MS } from './shutdownGrace.js';
import { HandshakeDeadlines } from './handshakeDeadline.js';
import { reportedAsHandshakeFailure, reportHandshakeFailures } from './handshakeFailures.js';
import { RelaySessionHooks, type InboundDependencies } from './relaySession.js';
import { RequestDeadlines } from './requestDeadlines.js';
import { SmtpAuthenticator } from './smtpAuth.js';
import { sendOneStatusCode } from './statusCodes.js';
import { judgeTextBefore354 } from './textBefore354.js';
import { OcspCache } from '../tls/ocsp/ocspCache.js';

export interface RunningListener {
  config: ListenerConfig;
  hooks: RelaySessionHooks;
  deadlines: HandshakeDeadlines;
  requestDeadlines: RequestDeadlines;
  name: string;
  address: string;
  /** The bound port (differs from the configured one when that was 0). */
  port: number;
  server: SMTPServer;
}

export interface InboundServers {
  listeners: RunningListener[];
  /** Stops accepting connections, sends 421 to idle sessions, lets DATA finish; resolves when closed. */
  close(): Promise<void>;
  /**
   * SIGHUP: new sessions get the new config, certificates, users and CRLs; sessions
   * already open keep the snapshot they started with. Returns what needs a restart
   * instead (a listener added, removed or changed: sockets are not rebound).
   */
  reload(config: Config, tls: TlsMaterial): string[];
}

/** Client certificates are asked for only when some connector judges sessions by them. */
function wantsClientCertificates(config: Config): boolean {
  return config.inbound.some((connector) => connector.match.certificateNames || connector.require.certificateNames);
}

/** The TLS part of a listener's options: set at start, and again by a reload. */
function serverTlsOptions(listener: ListenerConfig, config: Config, tls: TlsMaterial): SMTPServerOptions {
  const options = {
    minVersion: config.tls.minVersion,
    ciphers: config.tls.ciphers,
    honorCipherOrder: true,
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
    requestCert: wantsClientCertificates(config),
    // an untrusted client certificate is a fact for the policy, not a reason to hang up
    rejectUnauthorized: false,
    ca: tls.ca,
  };
  // smtp-server's built-in certificate has a public key: never run without ours
  return { ...options, ...(listener.tls !== 'none' ? servingOptions(tls.certificates, options) : {}) };
}

/**
 * The options that come from the config's server and smtp sections: set at start, and
 * merged into the running server by a reload. smtp-server reads each from `server.options`
 * when it needs it — `name` and `maxClients` when a connection opens, `size` (advertised
 * only) at every EHLO, `socketTimeout` whenever it re-arms a session's idle timer, so the
 * idle timeout changes for open sessions too, from their next command. The limits of a
 * transaction (SIZE=, recipients, messages, the body) are the hooks', against each
 * session's snapshot.
 */
function configuredOptions(config: Config): SMTPServerOptions {
  return {
    name: config.server.hostname,
    size: config.smtp.maxMessageSize,
    maxClients: config.smtp.maxClients,
    socketTimeout: config.smtp.idleTimeout,
  };
}

/** smtp.idleTimeout and smtp.minDataRate, as the per-request deadlines take them. */
function deadlineLimits(config: Config): DeadlineLimits {
  return { timeoutMs: config.smtp.idleTimeout, minDataRate: config.smtp.minDataRate };
}

function serverOptions(listener: ListenerConfig, config: Config, tls: TlsMaterial, hooks: RelaySessionHooks, deadlines: HandshakeDeadlines): SMTPServerOptions {
  const disabledCommands = [...(listener.tls === 'none' ? ['STARTTLS'] : []), ...(listener.auth === 'none' ? ['AUTH'] : [])];
  return {
    ...configuredOptions(config),
    banner: 'tlsrelay',
    secure: listener.tls === 'implicit',
    ...serverTlsOptions(listener, config, tls),
    disabledCommands,
    authOptional: listener.auth !== 'required',
    authMethods: ['PLAIN', 'LOGIN'],
    authRequiredMessage: AUTH_REQUIRED_REPLY,
    // at shutdown, how long a session in DATA may take to finish before it gets 421
    closeTimeout: SHUTDOWN_GRACE_MS,
    // no reverse lookup: it costs up to 1.5 s per connection and decides nothing here
    disableReverseLookup: true,
    hideDSN: false,
    // advertised, and on every reply: one code each (see statusCodes.ts)
    hideENHANCEDSTATUSCODES: false,
    // RFC 8689: smtp-server lists REQUIRETLS only inside TLS; outbound keeps the promise
    // (policy/requireTls.ts), and MAIL FROM … REQUIRETLS in plaintext is refused (mailParameters.ts)
    hideREQUIRETLS: false,
    // smtp-server's own log stays off; only the commands and replies are taken, for the disconnect line
    logger: commandObservingLogger(hooks.log),
    onConnect: (session, done) => hooks.onConnect(session, done),
    onClose: (session) => hooks.onClose(session),
    onSecure: (socket, session, done) => {
      deadlines.settled(socket);
      hooks.onSecure(socket, session, done);
    },
    onAuth: (auth, session, done) => hooks.onAuth(auth, session, done),
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
  const closeAll = (): Promise<void> => Promise.all(running.map(({ server }) => drainListener(server))).then(() => undefined);
  const authenticator = new SmtpAuthenticator(config.auth);
  const ocspAnswers = deps.ocspAnswers ?? new OcspCache();
  try {
    for (const listener of config.listeners) {
      const hooks = new RelaySessionHooks(listener, deps, authenticator, tls.crl, ocspAnswers);
      const requestDeadlines = new RequestDeadlines(deadlineLimits(config), deps.logger, hooks.log);
      let server: SMTPServer | undefined;
      const deadlines = new HandshakeDeadlines(
        config.smtp.handshakeTimeout,
        // smtp-server keeps the topmost socket of each connection still in its handshake here
        (socket) => (server as unknown as { _pendingSockets?: Map<Socket, Socket> })?._pendingSockets?.get(socket) ?? socket,
      );
      server = new SMTPServer(serverOptions(listener, config, tls, hooks, deadlines));
      judgeMailParameters(server);
      recordAddressCharsets(server);
      sendOneStatusCode(server);
      judgeTextBefore354(server, (session, textBefore354) => hooks.judgeTextBefore354(session, textBefore354));
      requestDeadlines.watch(server);
      server.on('error', (err: NodeJS.ErrnoException) => {
        // a failed bind is listen()'s to report, as the reason the relay does not start
        if (err.syscall !== 'listen' && !reportedAsHandshakeFailure(err)) deps.logger.warn({ listener: listener.name, err: err.message }, 'inbound connection error');
      });
      if (listener.tls !== 'none') {
        deadlines.watch(server.server, listener.tls);
        if (deps.staples !== undefined) stapleOn(server, deps.staples);
        reportHandshakeFailures(server, listener.name, listener.tls, deps.logger, deps.observer);
      }
      const port = await listen(server, listener);
      running.push({ config: listener, hooks, deadlines, requestDeadlines, name: listener.name, address: listener.address, port, server });
      deps.logger.info({ listener: listener.name, address: listener.address, port, tls: listener.tls, auth: listener.auth }, 'listening');
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  const reload = (config: Config, tls: TlsMaterial): string[] => {
    const needRestart: string[] = [];
    authenticator.reconfigure(config.auth);
    for (const { config: old, hooks, deadlines, requestDeadlines, server } of running) {
      const now = config.listeners.find((listener) => listener.name === old.name);
      if (!now || !sameListener(old, now)) {
        needRestart.push(`listener "${old.name}" was ${now ? 'changed' : 'removed'}`);
        continue;
      }
      hooks.reconfigure(config, tls.crl);
      deadlines.reconfigure(config.smtp.handshakeTimeout);
      requestDeadlines.reconfigure(deadlineLimits(config));
      Object.assign(server.options, configuredOptions(config));
      server.updateSecureContext(serverTlsOptions(now, config, tls));
    }
    for (const listener of config.listeners) {
      if (!running.some((r) => r.name === listener.name)) needRestart.push(`listener "${listener.name}" was added`);
    }
    return needRestart;
  };
  return { listeners: running, close: closeAll, reload };
}

function sameListener(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.address === b.address && a.port === b.port && a.tls === b.tls && a.auth === b.auth;
}
