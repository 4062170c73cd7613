// Real SMTP peers on 127.0.0.1 (ephemeral ports) for outbound and end-to-end tests.
//
//   const sink = await startSink({ tls: 'starttls' });
//   … deliver to 127.0.0.1:sink.port …
//   sink.received[0].secure / .protocol / .to / .data;  sink.connections
//   await sink.close();
//
// 'none' and 'starttls' are smtp-server instances. The misbehaving peers are scripted
// over plain `net`, speaking just enough SMTP (no PIPELINING) to take a message:
//   'broken-handshake'          offers STARTTLS, says 220, then sends garbage instead of TLS
//   'refuse-starttls'           offers STARTTLS, answers 454, goes on in plaintext
//   'refuse-starttls-and-close' offers STARTTLS, answers 454 and hangs up
import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { makeCert, type KeyPair } from './pki.js';

export type SinkTls = 'none' | 'starttls' | 'broken-handshake' | 'refuse-starttls' | 'refuse-starttls-and-close';

export interface SinkOptions {
  tls: SinkTls;
  /** Certificate for STARTTLS; a fresh self-signed one for 'localhost' when absent. */
  cert?: KeyPair;
  /** Highest TLS version the sink negotiates ('starttls' only), e.g. to see a TLSv1.2 session. */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** The sink's OpenSSL cipher list for TLS 1.2 ('starttls' only), e.g. one suite a connector's `ciphers` must share. */
  ciphers?: string;
  /** Replies to RCPT TO by address, e.g. { 'nobody@x.test': '550 5.1.1 No such user' }; others get 250. */
  rcptReplies?: Record<string, string>;
  /** Reply to the end of DATA instead of 250, e.g. '554 5.6.0 Message rejected'; the message is then not recorded. */
  dataReply?: string;
  /** SIZE limit to advertise ('none' and 'starttls' only). */
  size?: number;
  /** Ask the client for a certificate during STARTTLS ('starttls' only). */
  requestCert?: boolean;
  /**
   * Demand a client certificate that chains to this CA (PEM) during STARTTLS, as a partner
   * that requires one does: without it the handshake fails ('starttls' only).
   */
  requireCertFrom?: string;
  /** Listen on this port (a next hop that comes up where a connector points, see freePort) rather than an ephemeral one ('none' and 'starttls' only). */
  port?: number;
  /**
   * Listen on this loopback address rather than 127.0.0.1 ('none' and 'starttls' only):
   * several MX hosts on the one `delivery.port` of MX routes, each at an address of its own.
   */
  address?: string;
  /** Awaited after a message is recorded and before its 250 is sent ('none' and 'starttls' only): holds the relay mid-delivery. */
  beforeDataReply?: (message: Received) => Promise<void>;
  /** Advertise DSN and record the parameters ('none' and 'starttls' only); smtp-server hides DSN by default. */
  dsn?: boolean;
  /** Advertise REQUIRETLS inside TLS ('starttls' only); smtp-server hides it by default (it takes the keyword either way). */
  requireTls?: boolean;
  /** The name the greeting and EHLO give (smtp-server's: the machine's host name), e.g. the MX host it stands for ('none' and 'starttls' only). */
  name?: string;
  /** TLS from the first byte instead of STARTTLS, as on a submissions port ('starttls' only). */
  implicit?: boolean;
  /**
   * Staple this OCSP response (DER) to handshakes that ask for one ('starttls' only). Node
   * hands smtp-server's sessions the request only when the client sent SNI: the name's
   * context is where it looks for the server's certificate.
   */
  ocspStaple?: Buffer;
}

/** The RFC 3461 parameters of one transaction, as smtp-server decoded them (only a sink with `dsn`). */
export interface ReceivedDsn {
  ret: string | null;
  envid: string | null;
  /** By recipient address. */
  recipients: Record<string, { notify?: string[]; orcpt?: string }>;
}

/** One message as the sink took it. */
export interface Received {
  /** 1-based number of the connection that carried it. */
  connection: number;
  from: string;
  /** The recipients the sink accepted. */
  to: string[];
  /** The message as transmitted, dot-stuffing removed, CRLF line ends. */
  data: string;
  secure: boolean;
  /** STARTTLS was sent on the connection that carried the message, whatever came of it. */
  starttls: boolean;
  /** e.g. 'TLSv1.3'; null in plaintext. */
  protocol: string | null;
  cipher: string | null;
  /** The SNI name the client sent, if any. */
  servername: string | null;
  /** CN of the certificate the client presented, if any. */
  clientCertificate: string | null;
  /** What of DSN the transaction carried; undefined unless the sink advertises DSN. */
  dsn?: ReceivedDsn;
  /** MAIL FROM carried REQUIRETLS (RFC 8689). */
  requireTls: boolean;
}

export interface Sink {
  port: number;
  received: Received[];
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startSink(options: SinkOptions): Promise<Sink> {
  return options.tls === 'none' || options.tls === 'starttls' ? startSmtpServerSink(options) : startScriptedSink(options);
}

/** '550 5.1.1 No such user' → an error smtp-server answers with exactly that line. */
function replyError(reply: string): Error {
  const match = /^(\d{3})\s+(.*)$/.exec(reply);
  return Object.assign(new Error(match?.[2] ?? reply), { responseCode: Number(match?.[1] ?? 550) });
}

function receivedDsn(session: SMTPServerSession): ReceivedDsn {
  const { dsn, rcptTo } = session.envelope;
  return {
    ret: dsn?.ret ?? null,
    envid: dsn?.envid ?? null,
    recipients: Object.fromEntries(rcptTo.map((rcpt) => [rcpt.address, { ...(rcpt.dsn?.notify ? { notify: rcpt.dsn.notify } : {}), ...(rcpt.dsn?.orcpt ? { orcpt: rcpt.dsn.orcpt } : {}) }])),
  };
}

async function startSmtpServerSink(options: SinkOptions): Promise<Sink> {
  const { key, cert } = options.cert ?? (await makeCert({ names: ['localhost'] }));
  const received: Received[] = [];
  const sessions = new Map<string, { connection: number; protocol: string | null; cipher: string | null; clientCertificate: string | null }>();
  let connections = 0;
  const server = new SMTPServer({
    key,
    cert,
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    ...(options.ciphers ? { ciphers: options.ciphers } : {}),
    ...(options.size ? { size: options.size } : {}),
    // any client certificate is taken; the test asserts which one came
    ...(options.requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
    ...(options.requireCertFrom ? { requestCert: true, rejectUnauthorized: true, ca: [options.requireCertFrom] } : {}),
    disabledCommands: options.tls === 'none' ? ['STARTTLS', 'AUTH'] : ['AUTH'],
    ...(options.dsn ? { hideDSN: false } : {}),
    ...(options.requireTls ? { hideREQUIRETLS: false } : {}),
    ...(options.implicit ? { secure: true } : {}),
    ...(options.name ? { name: options.name } : {}),
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onConnect(session, callback) {
      sessions.set(session.id, { connection: ++connections, protocol: null, cipher: null, clientCertificate: null });
      callback();
    },
    onSecure(socket, session, callback) {
      const tlsSocket = socket as TLSSocket;
      const state = sessions.get(session.id);
      if (state) {
        state.protocol = tlsSocket.getProtocol() ?? null;
        state.cipher = tlsSocket.getCipher()?.name ?? null;
        const cn = tlsSocket.getPeerCertificate()?.subject?.CN;
        state.clientCertificate = typeof cn === 'string' ? cn : null;
      }
      callback();
    },
    onRcptTo(address, _session, callback) {
      const reply = options.rcptReplies?.[address.address];
      callback(reply === undefined || reply.startsWith('2') ? undefined : replyError(reply));
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (options.dataReply !== undefined) return callback(replyError(options.dataReply));
        const state = sessions.get(session.id);
        const message: Received = {
          connection: state?.connection ?? 0,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          data: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          // a STARTTLS whose handshake fails leaves no session to carry a message
          starttls: session.secure,
          protocol: session.secure ? (state?.protocol ?? null) : null,
          cipher: session.secure ? (state?.cipher ?? null) : null,
          servername: session.servername || null,
          clientCertificate: state?.clientCertificate ?? null,
          ...(options.dsn ? { dsn: receivedDsn(session) } : {}),
          requireTls: session.envelope.requireTLS === true,
        };
        received.push(message);
        if (options.beforeDataReply === undefined) return callback();
        options.beforeDataReply(message).then(() => callback(), callback);
      });
    },
  });
  server.on('error', () => {
    // a client that vanishes mid-session is part of these tests, not a failure of the sink
  });
  const staple = options.ocspStaple;
  if (staple !== undefined) server.server.on('OCSPRequest', (_certificate: Buffer, _issuer: Buffer, callback: (err: Error | null, response: Buffer) => void) => callback(null, staple));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.address ?? '127.0.0.1', () => resolve()));
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('the sink is not listening on a TCP port');
  return {
    port: address.port,
    received,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A dialogue over plain TCP, one line at a time; see the header for what each mode does. */
async function startScriptedSink(options: SinkOptions): Promise<Sink> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const server: Server = createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let hungUp = false;
    const reply = (line: string): void => {
      if (!hungUp) socket.write(`${line}\r\n`);
    };
    const hangUp = (last?: string): void => {
      hungUp = true;
      if (last === undefined) socket.end();
      else socket.end(last);
    };
    let buffer = '';
    let from = '';
    let mailFrom = '';
    let to: string[] = [];
    let dataLines: string[] | undefined;
    let starttls = false;

    const onLine = (line: string): void => {
      if (hungUp) return; // e.g. the TLS ClientHello after a broken STARTTLS
      if (dataLines !== undefined) {
        if (line === '.') {
          const data = dataLines.map((l) => `${l}\r\n`).join('');
          dataLines = undefined;
          if (options.dataReply !== undefined) return reply(options.dataReply);
          received.push({ connection, from, to, data, secure: false, starttls, protocol: null, cipher: null, servername: null, clientCertificate: null, requireTls: / REQUIRETLS(?: |$)/i.test(mailFrom) });
          reply('250 2.0.0 Ok: queued');
        } else {
          dataLines.push(line.startsWith('.') ? line.slice(1) : line);
        }
        return;
      }
      const verb = line.split(/[\s:]/, 1)[0]?.toUpperCase() ?? '';
      const argument = /<([^>]*)>/.exec(line)?.[1] ?? '';
      switch (verb) {
        case 'EHLO':
          return reply('250-scripted.test\r\n250-8BITMIME\r\n250 STARTTLS');
        case 'HELO':
          return reply('250 scripted.test');
        case 'STARTTLS':
          starttls = true;
          if (options.tls === 'broken-handshake') {
            reply('220 2.0.0 Ready to start TLS');
            return hangUp('this is not a TLS server hello\r\n');
          }
          reply('454 4.7.0 TLS not available due to local problem');
          if (options.tls === 'refuse-starttls-and-close') hangUp();
          return;
        case 'MAIL':
          from = argument;
          mailFrom = line;
          to = [];
          return reply('250 2.1.0 Ok');
        case 'RCPT': {
          const answer = options.rcptReplies?.[argument] ?? '250 2.1.5 Ok';
          if (answer.startsWith('2')) to.push(argument);
          return reply(answer);
        }
        case 'DATA':
          dataLines = [];
          return reply('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          from = '';
          to = [];
          return reply('250 2.0.0 Ok');
        case 'NOOP':
          return reply('250 2.0.0 Ok');
        case 'QUIT':
          reply('221 2.0.0 Bye');
          return hangUp();
        default:
          return reply('502 5.5.2 Error: command not recognized');
      }
    };

    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        onLine(line);
      }
    });
    reply('220 scripted.test ESMTP');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the sink is not listening on a TCP port');
  return {
    port: address.port,
    received,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
