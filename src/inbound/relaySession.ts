import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerSession,
} from 'smtp-server';
import type { Config, ListenerConfig } from '../config/types.js';
import { domainOfAddress } from '../config/domain.js';
import type { Logger } from '../log.js';
import { checkAddressCharset } from '../policy/addressCharset.js';
import { checkInboundRequirements, checkRecipient, mayRelay, selectInboundConnector, type InboundFacts, type InboundVerdict, type RefusalReason } from '../policy/inbound.js';
import { unmapIpv4 } from '../policy/ipRanges.js';
import { checkListenerAuth } from '../policy/listenerAuth.js';
import { checkTextBefore354 } from '../policy/pipelining.js';
import type { Envelope, NewMessage } from '../queue/types.js';
import { QueueUnavailableError } from '../queue/queueUnavailable.js';
import type { RevocationList } from '../tls/crl.js';
import { ocspSettingsFor } from '../tls/ocsp/chainOcsp.js';
import type { OcspCache } from '../tls/ocsp/ocspCache.js';
import { addressCharset } from './addressCharset.js';
import { clientCertificateFacts } from './clientCertificate.js';
import { HopLimit } from './hopLimit.js';
import type { InboundObserver } from './inboundObserver.js';
import { MessageData } from './messageData.js';
import { MessageDataGuard, DataRefusal } from './messageDataGuard.js';
import { newMessage } from './newMessage.js';
import type { StapleSource } from './ocspStapling.js';
import { receivedHeader } from './receivedHeader.js';
import { SessionLog } from './sessionLog.js';
import { newSessionState, type SessionState } from './sessionState.js';
import type { SmtpAuthenticator } from './smtpAuth.js';
import { smtpError } from './smtpError.js';
import { goAheadOf, RefusedBefore354 } from './textBefore354.js';

/** Where accepted messages go: the spool (or anything that makes them as durable). */
export interface MessageStore {
  store(message: NewMessage, data: Readable): Promise<Envelope>;
}

export interface InboundDependencies {
  config: Config;
  store: MessageStore;
  logger: Logger;
  /** Told after each message is durable, so delivery can start without waiting for a poll. */
  onAccepted?: (envelope: Envelope) => void;
  /** Told of sessions, messages and refusals, for the metrics. */
  observer?: InboundObserver;
  /** Clients' OCSP answers (tls.ocsp), shared with delivery; absent: the listeners keep their own. */
  ocspAnswers?: OcspCache;
  /** OCSP staples for the certificates served; none stapled when absent. */
  staples?: StapleSource;
}

type Done = (err?: Error | null) => void;

/** MAIL FROM … SMTPUTF8 (smtp-server has checked that it carries no value). */
function declaresSmtputf8(mailFrom: SMTPServerAddress): boolean {
  return mailFrom.args !== false && mailFrom.args?.SMTPUTF8 === true;
}

/**
 * The relay's decisions at each step of one listener's SMTP sessions: facts are
 * collected as they arrive (client IP, TLS, client certificate) and the policy engine
 * is asked at MAIL FROM and RCPT TO.
 */
export class RelaySessionHooks {
  private readonly sessions = new Map<string, SessionState>();
  private readonly connectionsPerIp = new Map<string, number>();
  /** The snapshot new sessions take; sessions already open keep theirs. */
  private config: Config;
  /** Connect and disconnect lines, and the fields every line about a session carries. */
  readonly log: SessionLog;

  constructor(
    private readonly listener: ListenerConfig,
    private readonly deps: InboundDependencies,
    private readonly authenticator: SmtpAuthenticator,
    /** tls.crl: applied to client certificates as to servers', each CRL to its issuer's certificates. */
    private revocationLists: readonly RevocationList[],
    /** Clients' OCSP answers under tls.ocsp: one cache for the process (shared with delivery). */
    private readonly ocspAnswers: OcspCache,
  ) {
    this.config = deps.config;
    this.log = new SessionLog(listener.name, deps.logger);
  }

  /** SIGHUP: later sessions use the new config and CRLs (the shared authenticator is reconfigured by its owner). */
  reconfigure(config: Config, revocationLists: readonly RevocationList[]): void {
    this.config = config;
    this.revocationLists = revocationLists;
  }

  private state(session: SMTPServerSession): SessionState {
    let state = this.sessions.get(session.id);
    if (!state) {
      state = newSessionState(this.config);
      this.sessions.set(session.id, state);
    }
    return state;
  }

  private facts(session: SMTPServerSession, senderDomain: string | undefined): InboundFacts {
    const state = this.state(session);
    return {
      ip: unmapIpv4(session.remoteAddress),
      tls: state.tls !== undefined,
      certificate: state.certificate,
      senderDomain,
      authenticated: Boolean(session.user),
    };
  }

  /** The refusal as `done` gets it, counted by its reason. */
  private refusal(code: number, message: string, reason: RefusalReason): Error {
    this.deps.observer?.refused(this.listener.name, reason);
    return smtpError(code, message);
  }

  onConnect(session: SMTPServerSession, done: Done): void {
    this.log.connected(session);
    const ip = unmapIpv4(session.remoteAddress);
    const open = this.connectionsPerIp.get(ip) ?? 0;
    const limit = this.config.smtp.maxConnectionsPerIp;
    if (open >= limit) {
      this.deps.logger.warn({ ...this.log.fields(session), limit }, 'too many connections from one client');
      done(this.refusal(421, `4.7.0 Too many connections from ${ip}, try again later`, 'limits'));
      return;
    }
    this.connectionsPerIp.set(ip, open + 1);
    this.sessions.set(session.id, newSessionState(this.config));
    this.deps.observer?.sessionOpened(this.listener.name);
    // smtp-server advertises AUTH before STARTTLS too (it only refuses the command there):
    // credentials are never invited in plaintext, so AUTH is hidden until onSecure.
    if (this.listener.tls === 'starttls' && this.listener.auth !== 'none') session.disabledCommands = ['AUTH'];
    done();
  }

  onClose(session: SMTPServerSession): void {
    const state = this.sessions.get(session.id);
    this.log.disconnected(session, { tls: state?.tls, messagesAccepted: state?.messagesAccepted ?? 0 });
    if (!this.sessions.delete(session.id)) return;
    this.deps.observer?.sessionClosed(this.listener.name);
    const ip = unmapIpv4(session.remoteAddress);
    const open = (this.connectionsPerIp.get(ip) ?? 1) - 1;
    if (open <= 0) this.connectionsPerIp.delete(ip);
    else this.connectionsPerIp.set(ip, open);
  }

  onSecure(socket: Socket | TLSSocket, session: SMTPServerSession, done: Done): void {
    const tlsSocket = socket as TLSSocket;
    const state = this.state(session);
    // back to the listener's own list, which offers AUTH
    delete session.disabledCommands;
    // never rejects: a responder that fails is an answer (clientCertificate.ts)
    void clientCertificateFacts(tlsSocket, this.revocationLists, ocspSettingsFor(state.config.tls.ocsp, this.ocspAnswers)).then((certificate) => {
      state.certificate = certificate;
      state.tls = {
        protocol: tlsSocket.getProtocol() ?? 'unknown',
        cipher: tlsSocket.getCipher()?.standardName ?? 'unknown',
        clientVerified: certificate?.trusted ?? false,
      };
      this.deps.logger.info(
        {
          ...this.log.fields(session),
          tls: { protocol: state.tls.protocol, cipher: state.tls.cipher },
          clientCertificate: certificate ?? null,
        },
        'inbound TLS established',
      );
      done();
    });
  }

  onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, done: Done): void {
    const state = this.state(session);
    const { smtp } = state.config;
    if (state.messagesAccepted >= smtp.maxMessagesPerConnection) {
      // 421 closes the connection; Postfix and Exchange clients reconnect for the rest
      const response = '4.7.0 Too many messages in this session, try again later';
      this.deps.logger.info({ ...this.log.fields(session), from: address.address, limit: smtp.maxMessagesPerConnection, code: 421, response }, 'too many messages in one connection');
      done(this.refusal(421, response, 'limits'));
      return;
    }
    // smtp-server checked SIZE= syntax; the limit is ours (see mailParameters.ts)
    if (address.args && Number(address.args.SIZE) > smtp.maxMessageSize) {
      const response = '5.3.4 Message size exceeds fixed maximum message size';
      this.deps.logger.info({ ...this.log.fields(session), from: address.address, size: Number(address.args.SIZE), limit: smtp.maxMessageSize, code: 552, response }, 'sender refused: declared size over the limit');
      done(this.refusal(552, response, 'size'));
      return;
    }
    const charsetVerdict = checkAddressCharset(addressCharset(address), declaresSmtputf8(address));
    if (!charsetVerdict.ok) {
      this.deps.logger.info({ ...this.log.fields(session), from: address.address, code: charsetVerdict.code, response: charsetVerdict.message }, 'sender refused: address not in ASCII');
      done(this.refusal(charsetVerdict.code, charsetVerdict.message, charsetVerdict.reason));
      return;
    }
    const senderDomain = address.address === '' ? undefined : domainOfAddress(address.address);
    const facts = this.facts(session, senderDomain);
    const authVerdict = checkListenerAuth(this.listener.auth, facts);
    if (!authVerdict.ok) {
      this.deps.logger.info(
        { ...this.log.fields(session), from: address.address, code: authVerdict.code, response: authVerdict.message },
        'sender refused: listener requires AUTH',
      );
      done(this.refusal(authVerdict.code, authVerdict.message, authVerdict.reason));
      return;
    }
    const selection = selectInboundConnector(state.config, facts);
    state.connector = selection.connector;
    const verdict = selection.connector ? checkInboundRequirements(selection.connector, facts) : { ok: true as const };
    if (!verdict.ok) {
      this.deps.logger.info(
        { ...this.log.fields(session), from: address.address, code: verdict.code, response: verdict.message, reason: selection.reason },
        'sender refused by inbound connector',
      );
      done(this.refusal(verdict.code, verdict.message, verdict.reason));
      return;
    }
    done();
  }

  onAuth(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
    done: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
  ): void {
    const username = auth.username ?? '';
    // who and from where, never what they sent as a secret
    const context = { ...this.log.fields(session), user: username, method: auth.method };
    const { logger } = this.deps;
    this.authenticator.check(context.client, username, auth.password ?? '').then(
      (outcome) => {
        switch (outcome) {
          case 'authenticated':
            logger.info(context, 'client authenticated');
            done(null, { user: username });
            return;
          case 'rejected':
            logger.warn(context, 'authentication failed');
            done(this.refusal(535, '5.7.8 Authentication credentials invalid', 'auth'));
            return;
          case 'throttled':
            logger.warn({ ...context, limit: this.authenticator.maxFailuresPerIp }, 'authentication refused: too many failures from this client');
            done(this.refusal(454, '4.7.0 Too many authentication failures, try again later', 'auth'));
            return;
        }
      },
      (err: Error) => {
        logger.error({ ...context, err: err.message }, 'cannot check credentials');
        done(this.refusal(454, '4.7.0 Temporary authentication failure', 'auth'));
      },
    );
  }

  onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, done: Done): void {
    const state = this.state(session);
    const { rcptTo } = session.envelope;
    const key = address.address.toLowerCase();
    // a repeated recipient replaces its earlier entry (smtp-server), so it does not count twice
    if (rcptTo.length >= state.config.smtp.maxRecipients && !rcptTo.some((rcpt) => rcpt.address.toLowerCase() === key)) {
      const response = '4.5.3 Error: too many recipients';
      this.deps.logger.info({ ...this.log.fields(session), to: address.address, limit: state.config.smtp.maxRecipients, code: 452, response }, 'recipient refused');
      done(this.refusal(452, response, 'limits'));
      return;
    }
    const { mailFrom } = session.envelope;
    const charsetVerdict = checkAddressCharset(addressCharset(address), mailFrom !== false && declaresSmtputf8(mailFrom));
    const verdict = charsetVerdict.ok ? checkRecipient(state.config, state.connector, address.address, Boolean(session.user)) : charsetVerdict;
    if (!verdict.ok) {
      this.deps.logger.info(
        {
          ...this.log.fields(session),
          to: address.address,
          connector: state.connector?.name ?? null,
          code: verdict.code,
          response: verdict.message,
        },
        'recipient refused',
      );
      done(this.refusal(verdict.code, verdict.message, verdict.reason));
      return;
    }
    done();
  }

  /** When the 354 to DATA is due (see textBefore354.ts): text sent sooner is refused unless the session may relay. */
  judgeTextBefore354(session: SMTPServerSession, textBefore354: boolean): InboundVerdict {
    const state = this.state(session);
    const verdict = checkTextBefore354(textBefore354, mayRelay(state.connector, Boolean(session.user)));
    if (!textBefore354) return verdict;
    if (!verdict.ok) this.deps.observer?.refused(this.listener.name, verdict.reason);
    const fields = { ...this.log.fields(session), connector: state.connector?.name ?? null };
    // the text itself is not logged: it is the client's message
    if (verdict.ok) this.deps.logger.info(fields, 'message text sent before 354: accepted, the client may relay');
    else this.deps.logger.warn({ ...fields, code: verdict.code, response: verdict.message }, 'improper command pipelining after DATA: message text sent before 354');
    return verdict;
  }

  onData(stream: SMTPServerDataStream, session: SMTPServerSession, done: (err?: Error | null, message?: string) => void): void {
    const state = this.state(session);
    const { store, logger } = this.deps;
    const { config } = state;
    const message = newMessage(session.envelope);
    const recipients = message.recipients.map((rcpt) => rcpt.address);
    const header = receivedHeader({
      heloName: session.hostNameAppearsAs,
      clientIp: unmapIpv4(session.remoteAddress),
      byHost: config.server.hostname,
      tls: state.tls,
      authenticated: Boolean(session.user),
      recipients,
      date: new Date(),
    });

    const data = new MessageData(
      header,
      new MessageDataGuard({ bareLineEndings: config.smtp.bareLineEndings, maxSize: config.smtp.maxMessageSize }),
      new HopLimit(config.smtp.maxHops),
    );
    let received = false;
    // After a refusal or a failed write the client is still sending: keep reading so the
    // reply comes after its final dot.
    data.on('close', () => {
      stream.unpipe(data);
      stream.resume();
    });
    // A refusal can come before the spool starts reading; it still reaches the spool
    // (and so the reply) through the stream's iterator. Without a listener Node would
    // treat that early 'error' as unhandled and bring the whole relay down.
    data.on('error', () => undefined);
    stream.on('end', () => {
      received = true;
    });
    stream.on('close', () => {
      if (!received) data.destroy(new Error('client closed the connection during DATA'));
    });
    stream.on('error', (err) => data.destroy(err));
    stream.pipe(data);

    const streamDone = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
    // nothing reaches the spool before the 354 went out; in its place the session was refused and closed
    const stored = goAheadOf(session).then((goAhead) => {
      if (goAhead.ok) return store.store(message, data);
      data.destroy();
      throw new RefusedBefore354(goAhead);
    });

    stored.then(
      async (queued) => {
        await streamDone;
        logger.info(
          {
            ...this.log.fields(session),
            queueId: queued.id,
            recipients: recipients.length,
            size: queued.size,
            tls: state.tls ? { protocol: state.tls.protocol, cipher: state.tls.cipher } : null,
            connector: state.connector?.name ?? null,
            user: session.user || null,
          },
          'message accepted',
        );
        state.messagesAccepted++;
        this.deps.observer?.accepted(this.listener.name, state.connector?.name, state.tls !== undefined);
        done(null, `2.0.0 Ok: queued as ${queued.id}`);
        this.deps.onAccepted?.(queued);
      },
      async (err: Error) => {
        await streamDone;
        if (!received || err instanceof RefusedBefore354) {
          done(err);
          return;
        }
        if (err instanceof DataRefusal) {
          logger.info({ ...this.log.fields(session), recipients: recipients.length, code: err.responseCode, response: err.message }, 'message refused');
          done(this.refusal(err.responseCode, err.message, err.reason));
          return;
        }
        if (err instanceof QueueUnavailableError) {
          // the queue logged the outage once; per message it is a refusal like any other
          logger.info({ ...this.log.fields(session), recipients: recipients.length, code: 451, err: err.message }, 'message refused: the queue database cannot be reached');
          done(this.refusal(451, '4.3.0 Queue temporarily unavailable, try again later', 'storage'));
          return;
        }
        logger.error({ ...this.log.fields(session), recipients: recipients.length, err: err.message }, 'cannot write message to the spool');
        done(this.refusal(452, '4.3.1 Insufficient system storage', 'storage'));
      },
    );
  }
}

