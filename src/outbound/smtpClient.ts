import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { TLSSocket, type ConnectionOptions, type TLSSocketOptions } from 'node:tls';
import SMTPConnection, { type SMTPConnectionEnvelope, type SMTPError } from 'nodemailer/lib/smtp-connection';
import { rcptDsnParameters, type OutgoingDsn, type RecipientDsn } from './dsnParameters.js';
import type { OfferedExtensions } from './mailExtensions.js';
import { SMTP_TIMEOUTS } from './timeouts.js';

// nodemailer's SMTPConnection reports one failure by several paths ('error', 'end', a
// callback, sometimes two of them), and an 'error' nobody listens to throws. This
// wrapper turns each step into a promise that settles exactly once and never rejects.

export interface DialOptions {
  /** An IP address: nodemailer must never resolve names itself (it would use the system resolver). */
  address: string;
  port: number;
  /** Our EHLO name. */
  clientName: string;
  /** Send STARTTLS when the peer offers it; false = never (level none, plaintext fallback). */
  startTls: boolean;
  /**
   * TLS from the first byte (a submissions port, RFC 8314) instead of STARTTLS: only
   * `tls probe --implicit` asks for it, delivery never does.
   */
  implicitTls?: boolean;
  /** Options for the TLS session (after STARTTLS, or from the start), servername included. */
  tls: ConnectionOptions;
  /** Ask the server to staple an OCSP response (RFC 6066 status_request), and keep it: SmtpClient.stapledOcsp. */
  requestOcsp?: boolean;
  /** Called once the TCP connection is gone (closed, refused, never opened): what connection caps count by. */
  onSocketClosed: () => void;
}

export type DialResult =
  | { kind: 'open'; client: SmtpClient }
  /**
   * `duringTlsUpgrade`: the peer said 220 to STARTTLS, then the handshake failed — or the
   * session broke before EHLO inside TLS was answered, which is how a TLS 1.3 server that
   * wants a client certificate says so (its alert comes after our side finished).
   * With implicit TLS, whatever broke between the TCP connection and the greeting.
   * `localAddress`: ours, when the TCP connection was made. `replies`: the setup's replies so far.
   */
  | { kind: 'failed'; error: SMTPError; duringTlsUpgrade: boolean; localAddress?: string; replies: readonly SetupReply[] };

/** The recipients' fate as the peer replied, whatever became of the message. */
export interface EnvelopeReplies {
  accepted: string[];
  /** One per recipient the peer refused at RCPT, with `recipient` and the reply. */
  rejected: SMTPError[];
}

export type SendResult =
  /**
   * `dsn`: the peer advertised DSN and got the message's DSN parameters, so reporting
   * (NOTIFY=SUCCESS included) is its job from here; false: we relayed into a world without DSN.
   */
  | { kind: 'sent'; response: string; envelope: EnvelopeReplies; dsn: boolean }
  | { kind: 'failed'; error: SMTPError; envelope: EnvelopeReplies };

export interface OutgoingEnvelope {
  /** '' for the null sender. */
  from: string;
  to: string[];
  size: number;
  /** Passed on when the peer advertises DSN, each recipient with its own NOTIFY and ORCPT. */
  dsn?: OutgoingDsn;
  /** MAIL FROM parameters as mailParameters() decided them for this peer. */
  smtputf8: boolean;
  eightBitMime: boolean;
  /** MAIL FROM carries REQUIRETLS: only over a session requireTlsFit() found fit (nodemailer refuses it outside TLS or to a peer that did not advertise it). */
  requireTls: boolean;
}

function asSmtpError(err: unknown): SMTPError {
  return err instanceof Error ? err : new Error(String(err));
}

function connectionClosed(): SMTPError {
  return Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' });
}

/** The error code of a peer that sent lines with its greeting, before EHLO (see watchGreeting). */
export const UNSOLICITED_LINES = 'EUNSOLICITED';

/** Where the greeting ends in what has arrived: after its first line that is not a `ddd-` continuation. */
function greetingEnd(text: string): number | undefined {
  let start = 0;
  for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
    const line = text.slice(start, newline);
    start = newline + 1;
    if (!/^\d{3}-/.test(line)) return start;
  }
  return undefined;
}

/**
 * A server cannot answer a command it has not been sent: lines that arrive in the same
 * read as the end of its greeting were written before our EHLO reached it — injected, or
 * a broken server. nodemailer would take them as the replies to EHLO and to whatever
 * follows (even a "250 queued" for a message never sent), so the session is dropped
 * before EHLO. Registered before nodemailer's own listener, so it sees each chunk first.
 */
function watchGreeting(socket: Socket, onUnsolicited: (lines: string) => void): void {
  let received = '';
  const onData = (chunk: Buffer): void => {
    received += chunk.toString('latin1');
    const end = greetingEnd(received);
    if (end === undefined) return;
    socket.off('data', onData);
    if (end < received.length) onUnsolicited(received.slice(end));
  };
  socket.on('data', onData);
}

/** `response`: what came behind the greeting. */
function unsolicitedLines(lines: string): SMTPError {
  return Object.assign(new Error('sent lines nobody asked for with its greeting, before EHLO'), { code: UNSOLICITED_LINES, response: lines });
}

/**
 * Runs one nodemailer step and settles on whichever comes first: its callback, an
 * 'error' event or the connection ending. Never rejects.
 */
function guardedStep<T>(conn: SMTPConnection, start: (done: (result: T) => void) => void, onFailure: (error: SMTPError) => T): Promise<T> {
  return new Promise((resolve) => {
    let settled = false;
    const onError = (error: SMTPError): void => done(onFailure(error));
    const onEnd = (): void => done(onFailure(connectionClosed()));
    function done(result: T): void {
      if (settled) return;
      settled = true;
      conn.off('error', onError);
      conn.off('end', onEnd);
      resolve(result);
    }
    conn.on('error', onError);
    conn.once('end', onEnd);
    try {
      start(done);
    } catch (err) {
      done(onFailure(asSmtpError(err)));
    }
  });
}

/** The name a server gave itself: the first word of its greeting or of its EHLO or HELO reply, after the code. */
export interface ServerName {
  reply: 'greeting' | 'EHLO' | 'HELO';
  name: string;
}

/** One reply of the session's setup as the server sent it (its lines joined by newlines). */
export interface SetupReply {
  reply: ServerName['reply'] | 'STARTTLS';
  text: string;
}

/** nodemailer's handlers of the setup's replies (index.js, _actionGreeting and the rest). */
const SETUP_REPLIES = { _actionGreeting: 'greeting', _actionEHLO: 'EHLO', _actionHELO: 'HELO', _actionSTARTTLS: 'STARTTLS' } as const;

type ReplyHandlers = Partial<Record<keyof typeof SETUP_REPLIES, (this: unknown, reply: string) => void>>;

/**
 * nodemailer keeps none of these replies (its EHLO keywords leave the first line out,
 * and a second EHLO replaces the first), so its handlers are wrapped to note each one —
 * the EHLO after STARTTLS included — for loop detection (the names the server gives
 * itself) and `tls probe` (the whole dialogue). Must run before connect().
 */
function recordSetupReplies(conn: SMTPConnection, replies: SetupReply[]): void {
  const handlers = conn as unknown as ReplyHandlers;
  for (const [method, reply] of Object.entries(SETUP_REPLIES) as Array<[keyof typeof SETUP_REPLIES, SetupReply['reply']]>) {
    const handle = handlers[method];
    if (typeof handle !== 'function') continue;
    handlers[method] = function (this: unknown, text: string): void {
      replies.push({ reply, text });
      handle.call(this, text);
    };
  }
}

/** The names the server gave itself in positive replies, in order. */
function serverNamesIn(replies: readonly SetupReply[]): ServerName[] {
  return replies.flatMap(({ reply, text }) => {
    const name = /^2\d\d[ -](\S+)/.exec(text)?.[1];
    return reply === 'STARTTLS' || name === undefined ? [] : [{ reply, name }];
  });
}

/**
 * What the server stapled to the TLS handshake: `not-requested` unless the TLS options
 * had `requestOCSP`; `none` when it stapled nothing (or no TLS came about).
 */
export type OcspStaple = { kind: 'not-requested' } | { kind: 'none' } | { kind: 'stapled'; response: Buffer };

/** nodemailer's methods that create the TLS socket: for STARTTLS, and for TLS from the start (index.js). */
interface TlsSocketMakers {
  _upgradeConnection?: (this: unknown, ...args: unknown[]) => unknown;
  _connectToHost?: (this: unknown, ...args: unknown[]) => unknown;
}

/**
 * What a server stapled to the handshake (RFC 6066 status_request): Node emits
 * 'OCSPResponse' on the TLS socket during the handshake, before nodemailer hands the
 * socket back, so the methods that create it are wrapped to listen on it at once.
 * `null` until then, and when the server stapled nothing.
 */
function recordStapledOcsp(conn: SMTPConnection, onResponse: (response: Buffer | null) => void): void {
  const makers = conn as unknown as TlsSocketMakers;
  for (const method of ['_upgradeConnection', '_connectToHost'] as const) {
    const make = makers[method];
    if (typeof make !== 'function') continue;
    makers[method] = function (this: unknown, ...args: unknown[]): unknown {
      const result = make.apply(this, args);
      const socket = conn._socket;
      if (socket instanceof TLSSocket) socket.once('OCSPResponse', onResponse);
      return result;
    };
  }
}

/**
 * While dialling: STARTTLS was accepted, so whatever fails now fails the TLS setup. With
 * TLS from the start (where nodemailer calls the session secure before it is), whatever
 * fails once the TCP connection is made and before the greeting.
 */
function inTlsSetup(conn: SMTPConnection, implicit: { connected: boolean; replies: readonly SetupReply[] } | undefined): boolean {
  if (implicit !== undefined) return implicit.connected && !implicit.replies.some(({ reply }) => reply === 'greeting');
  return conn.upgrading === true || conn.secure;
}

/** requestOCSP is a TLSSocket option that tls.connect passes on; its ConnectionOptions type leaves it out. */
function withOcspRequest(tls: ConnectionOptions): ConnectionOptions {
  const options: ConnectionOptions & Pick<TLSSocketOptions, 'requestOCSP'> = { ...tls, requestOCSP: true };
  return options;
}

/** Opens an SMTP session: connect, greeting, EHLO and (when asked and offered) STARTTLS — or TLS from the start. */
export function dial(options: DialOptions): Promise<DialResult> {
  const replies: SetupReply[] = [];
  let conn: SMTPConnection;
  try {
    conn = new SMTPConnection({
      host: options.address,
      port: options.port,
      secure: options.implicitTls === true,
      name: options.clientName,
      ignoreTLS: !options.startTls,
      // a refused STARTTLS keeps the session so the policy can decide; never requireTLS,
      // which would send STARTTLS unasked and blur "not offered" into "refused"
      opportunisticTLS: true,
      tls: options.requestOcsp === true ? withOcspRequest(options.tls) : options.tls,
      logger: false,
      connectionTimeout: SMTP_TIMEOUTS.connectionTimeout,
      greetingTimeout: SMTP_TIMEOUTS.greetingTimeout,
      socketTimeout: SMTP_TIMEOUTS.socketTimeout,
      socketCloseTimeout: SMTP_TIMEOUTS.socketCloseTimeout,
    });
  } catch (err) {
    options.onSocketClosed();
    return Promise.resolve({ kind: 'failed', error: asSmtpError(err), duringTlsUpgrade: false, replies });
  }
  // for the whole life of the connection: later errors arrive through the step that is running
  conn.on('error', () => {});
  recordSetupReplies(conn, replies);
  let ocsp: OcspStaple = { kind: 'not-requested' };
  if (options.requestOcsp === true) {
    ocsp = { kind: 'none' };
    recordStapledOcsp(conn, (response) => {
      if (response !== null) ocsp = { kind: 'stapled', response };
    });
  }
  let unsolicited: string | undefined;
  // read when connected: a socket that closed no longer says
  let localAddress: string | undefined;
  const implicit = options.implicitTls === true ? { connected: false, replies } : undefined;
  const failed = (error: SMTPError): DialResult => ({ kind: 'failed', error, duringTlsUpgrade: inTlsSetup(conn, implicit), replies });
  return guardedStep<DialResult>(
    conn,
    (done) => {
      try {
        conn.connect((err) => {
          done(err ? failed(err) : { kind: 'open', client: new SmtpClient(conn, replies, localAddress, ocsp) });
        });
      } finally {
        // an IP address needs no lookup, so the socket exists now; after STARTTLS it still
        // carries the TLS session, and it closes only once the peer has let go (or was cut off)
        const socket = conn._socket;
        if (socket) {
          socket.once('connect', () => {
            localAddress = socket.localAddress;
            if (implicit) implicit.connected = true;
          });
          socket.once('close', options.onSocketClosed);
          watchGreeting(socket, (lines) => {
            unsolicited = lines;
            conn.close();
          });
        } else conn.once('end', options.onSocketClosed);
      }
    },
    failed,
  ).then((result): DialResult => {
    if (unsolicited !== undefined) {
      conn.close();
      return { kind: 'failed', error: unsolicitedLines(unsolicited), duringTlsUpgrade: false, replies };
    }
    if (result.kind === 'open') return result;
    conn.close();
    return localAddress === undefined ? result : { ...result, localAddress };
  });
}

/** nodemailer keeps the EHLO keywords to itself; this is the one place that reads them. */
interface EhloKeywords {
  _ehloLines?: unknown;
  /** The extensions nodemailer acts on, e.g. 'DSN': what decides whether it sends RET and ENVID. */
  _supportedExtensions?: unknown;
}

/** The two nodemailer methods that write RCPT TO (index.js, _sendRcpt and _getDsnRcptToArgs). */
interface RcptInternals {
  _sendRcpt?: (this: unknown, recipient: string, callback: unknown) => void;
  _getDsnRcptToArgs?: () => string;
}

/**
 * nodemailer takes one NOTIFY and one ORCPT per envelope and writes them on every RCPT TO,
 * but each of our recipients has its own (an ORCPT names its recipient, so a client that
 * sends ORCPT — Postfix does for every recipient — gives each a different one). Splitting
 * the recipients into one transaction per distinct set would send the message once per
 * recipient; instead this connection writes each RCPT TO's parameters itself: _sendRcpt
 * is wrapped to note the recipient, and _getDsnRcptToArgs, which it calls synchronously to
 * complete the command, returns that recipient's parameters. False when this nodemailer
 * lacks the methods: the client then passes no DSN parameters at all and reports the
 * peer as one without DSN, which is correct, if less than we could do (a test in
 * test/outbound/deliverDomain.test.ts notices).
 */
function writeRcptParametersPerRecipient(conn: SMTPConnection, parametersOf: (recipient: string) => string): boolean {
  const internals = conn as unknown as RcptInternals;
  const sendRcpt = internals._sendRcpt;
  if (typeof sendRcpt !== 'function' || typeof internals._getDsnRcptToArgs !== 'function') return false;
  let current: string | undefined;
  internals._sendRcpt = function (this: unknown, recipient: string, callback: unknown): void {
    current = recipient;
    try {
      sendRcpt.call(this, recipient, callback);
    } finally {
      current = undefined;
    }
  };
  internals._getDsnRcptToArgs = () => (current === undefined ? '' : parametersOf(current));
  return true;
}

/** The nodemailer method every command goes out by (index.js, _sendCommand). */
interface CommandInternals {
  _sendCommand?: (this: unknown, command: string | Buffer, logged?: string) => void;
}

/**
 * nodemailer writes SMTPUTF8 on MAIL FROM only when an address is not ASCII, but a message
 * whose client declared SMTPUTF8 may need it for its header alone (RFC 6532), and is to
 * have it at a next hop that offers it: this connection adds the keyword to the MAIL FROM
 * line when `wanted()` says so. A nodemailer without the method gets no keyword added
 * (test/outbound/mailExtensions.test.ts notices).
 */
function addSmtputf8ToMailFrom(conn: SMTPConnection, wanted: () => boolean): void {
  const internals = conn as unknown as CommandInternals;
  const sendCommand = internals._sendCommand;
  if (typeof sendCommand !== 'function') return;
  internals._sendCommand = function (this: unknown, command: string | Buffer, logged?: string): void {
    const add = typeof command === 'string' && /^MAIL FROM:/i.test(command) && !/ SMTPUTF8(?: |$)/i.test(command) && wanted();
    sendCommand.call(this, add ? `${command} SMTPUTF8` : command, logged);
  };
}

/** The extension keywords of an EHLO reply's lines (the greeting line left out), upper-cased: each line's first word. */
function ehloKeywords(lines: unknown): Set<string> {
  if (!Array.isArray(lines)) return new Set();
  return new Set(lines.flatMap((line) => (typeof line === 'string' ? [line.split(/\s/, 1)[0]!.toUpperCase()] : [])));
}

export class SmtpClient {
  /** The DSN parameters of the recipients of the transaction under way, when the peer takes them. */
  private rcptDsn: Map<string, RecipientDsn> | undefined;
  private readonly canPassDsn: boolean;
  /** The transaction under way is to name SMTPUTF8. */
  private smtputf8 = false;
  /** The keywords of the EHLO reply `lines` (nodemailer's list of it). */
  private ehlo: { lines: unknown; keywords: ReadonlySet<string> } | undefined;

  constructor(
    private readonly conn: SMTPConnection,
    /** The replies of the session's setup, in order. */
    readonly setupReplies: readonly SetupReply[],
    /** Our address in this connection: RFC 8460's sending-mta-ip. */
    readonly localAddress: string | undefined,
    /** What the server stapled to the handshake, read once the session is set up. */
    readonly stapledOcsp: OcspStaple,
  ) {
    this.canPassDsn = writeRcptParametersPerRecipient(conn, (recipient) => rcptDsnParameters(this.rcptDsn?.get(recipient)));
    addSmtputf8ToMailFrom(conn, () => this.smtputf8);
  }

  /** What the server called itself while the session was set up, in order. */
  get serverNames(): ServerName[] {
    return serverNamesIn(this.setupReplies);
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  isOpen(): boolean {
    return !this.conn.destroyed;
  }

  tlsSocket(): TLSSocket | undefined {
    const socket = this.conn._socket;
    return this.conn.secure && socket instanceof TLSSocket ? socket : undefined;
  }

  /**
   * Whether the peer's (plaintext) EHLO listed STARTTLS. nodemailer records the EHLO
   * lines also when STARTTLS was refused under opportunisticTLS, and none after HELO.
   */
  starttlsAdvertised(): boolean {
    return this.advertises('STARTTLS');
  }

  /**
   * SMTPUTF8 and 8BITMIME as the peer's last EHLO listed them — inside TLS, the one after
   * STARTTLS (nodemailer's own list keeps what the plaintext EHLO said too).
   */
  offeredExtensions(): OfferedExtensions {
    return { smtputf8: this.advertises('SMTPUTF8'), eightBitMime: this.advertises('8BITMIME') };
  }

  /** Whether the peer's last EHLO — inside TLS, the one after STARTTLS — listed REQUIRETLS (RFC 8689). */
  requireTlsAdvertised(): boolean {
    return this.advertises('REQUIRETLS');
  }

  private advertises(keyword: string): boolean {
    const lines = (this.conn as unknown as EhloKeywords)._ehloLines;
    // read once per EHLO reply (nodemailer makes a new list for each), not on every message
    let ehlo = this.ehlo;
    if (ehlo === undefined || ehlo.lines !== lines) ehlo = this.ehlo = { lines, keywords: ehloKeywords(lines) };
    return ehlo.keywords.has(keyword.toUpperCase());
  }

  /** Whether DSN parameters go to this peer: it advertised DSN (in its last EHLO), and we can write them. */
  private passesDsn(): boolean {
    const extensions = (this.conn as unknown as EhloKeywords)._supportedExtensions;
    return this.canPassDsn && Array.isArray(extensions) && extensions.includes('DSN');
  }

  /** The peer's last complete reply, e.g. its answer to STARTTLS. */
  lastReply(): string {
    return this.conn.lastServerResponse || '';
  }

  /**
   * One transaction. The message stream is opened only now, so a retry on another
   * host reads the stored message afresh.
   */
  send(envelope: OutgoingEnvelope, openData: () => Readable): Promise<SendResult> {
    // nodemailer fills in accepted/rejected on the envelope object it is given
    const tracked: Partial<SMTPConnectionEnvelope> = {
      from: envelope.from,
      to: envelope.to,
      size: envelope.size,
      use8BitMime: envelope.eightBitMime,
      ...(envelope.requireTls ? { requireTLSExtensionEnabled: true } : {}),
    };
    this.smtputf8 = envelope.smtputf8;
    const dsn = this.passesDsn();
    // RET and ENVID through nodemailer (it writes them only to a peer that advertised DSN),
    // NOTIFY and ORCPT per recipient through writeRcptParametersPerRecipient
    this.rcptDsn = dsn ? envelope.dsn?.recipients : undefined;
    if (dsn && (envelope.dsn?.ret !== undefined || envelope.dsn?.envid !== undefined)) tracked.dsn = { ret: envelope.dsn.ret, envid: envelope.dsn.envid };
    const replies = (): EnvelopeReplies => ({ accepted: [...(tracked.accepted ?? [])], rejected: [...(tracked.rejectedErrors ?? [])] });
    return guardedStep<SendResult>(
      this.conn,
      (done) => {
        let data: Readable;
        try {
          data = openData();
        } catch (err) {
          // nothing was sent: the session stays usable for the next message
          done({ kind: 'failed', error: Object.assign(asSmtpError(err), { code: 'ESTREAM' }), envelope: replies() });
          return;
        }
        this.conn.send(tracked, data, (err, info) => {
          done(err || !info ? { kind: 'failed', error: err ?? connectionClosed(), envelope: replies() } : { kind: 'sent', response: info.response, envelope: replies(), dsn });
          // a message stream that failed midway leaves the session in an unknown state
          if (err?.code === 'ESTREAM') this.close();
        });
      },
      (error) => ({ kind: 'failed', error, envelope: replies() }),
    );
  }

  /** RSET between messages; resolves to the failure, if any. */
  reset(): Promise<SMTPError | undefined> {
    return guardedStep<SMTPError | undefined>(
      this.conn,
      (done) => this.conn.reset((err) => done(err ?? undefined)),
      (error) => error,
    );
  }

  /** Ends the session politely; a peer that never answers QUIT is cut off after a grace period. */
  quit(): void {
    if (!this.isOpen()) return;
    this.conn.quit();
    const cutOff = setTimeout(() => this.conn.close(), SMTP_TIMEOUTS.socketCloseTimeout);
    cutOff.unref();
    this.conn.once('end', () => clearTimeout(cutOff));
  }

  close(): void {
    this.conn.close();
  }

  /** Calls `listener` when the connection ends, from either side; returns the function that stops that. */
  onEnd(listener: () => void): () => void {
    this.conn.once('end', listener);
    return () => this.conn.off('end', listener);
  }
}
