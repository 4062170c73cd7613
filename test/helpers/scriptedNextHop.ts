// A next hop whose answer to STARTTLS is scripted, for the STARTTLS negotiation and
// buffering cases of the USENIX Security 2021 study (Poddebniak et al.): STARTTLS not
// advertised, refused with any reply (then going on or hanging up), accepted with extra
// lines injected behind the 220, accepted and then reset, or accepted with a capped TLS
// version. The greeting and the plaintext replies to EHLO and HELO can be scripted too
// (the study's odd replies). It records every command line and whether it came inside
// TLS, so a test can prove that no MAIL FROM ever travelled in plaintext. Like Postfix it
// answers a MAIL inside an open transaction with 503, so a client that skips RSET shows.
//
//   const hop = await startScriptedNextHop({ starttls: { kind: 'refuse', reply: '454 4.7.0 No', close: false } });
//   … deliver to 127.0.0.1:hop.port …
//   hop.commands.filter((c) => c.verb === 'MAIL' && !c.secure)
import { createServer, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { makeCert, type KeyPair } from './pki.js';

export type StarttlsScript =
  /** EHLO does not list STARTTLS; the command itself gets 502. */
  | { kind: 'not-offered' }
  /** STARTTLS is answered with `reply` (e.g. 454, 500, 354, 421); then plaintext goes on, or the peer hangs up. */
  | { kind: 'refuse'; reply: string; close: boolean }
  /**
   * `reply` (default `220 2.0.0 Ready to start TLS`, may have continuation lines), then a
   * real handshake; `inject` is written right behind the reply, before TLS (the buffering attack).
   */
  | { kind: 'handshake'; reply?: string; inject?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }
  /** 220, then a TCP reset as soon as the client starts its handshake. */
  | { kind: 'reset' };

export interface RecordedCommand {
  /** 1-based number of the connection. */
  connection: number;
  verb: string;
  line: string;
  secure: boolean;
}

export interface ScriptedMessage {
  connection: number;
  from: string;
  to: string[];
  secure: boolean;
}

export interface ScriptedNextHop {
  port: number;
  commands: RecordedCommand[];
  received: ScriptedMessage[];
  readonly connections: number;
  /** Resolves once `count` connections have been closed, by either side. */
  closed(count: number): Promise<void>;
  /** Hangs up on every open connection, as a server whose idle timeout ran out. */
  hangUpAll(): void;
  close(): Promise<void>;
}

export interface ScriptedNextHopOptions {
  starttls: StarttlsScript;
  /** Certificate for the handshake; a fresh self-signed one for 'localhost' when absent. */
  cert?: KeyPair;
  /** Sent on connect instead of `220 scripted.test ESMTP`: an odd or multi-line greeting, or one with lines injected behind it in the same packet. */
  greeting?: string;
  /** The reply to EHLO in plaintext instead of the capabilities, e.g. `502 5.5.2 …` to be no ESMTP server (D_1). */
  ehlo?: string;
  /** The reply to HELO instead of `250 scripted.test`. */
  helo?: string;
  /** The name it gives in its EHLO replies (the one inside TLS too) and its default HELO reply, instead of scripted.test. */
  name?: string;
  /** Replies to RCPT TO by address, e.g. { 'nobody@x.test': '550 5.1.1 No such user' }; others get 250. */
  rcptReplies?: Record<string, string>;
  /** Messages one connection takes; the MAIL after them gets `421 4.7.0 Too many messages…` and the connection is closed. */
  messagesPerConnection?: number;
  /** RSET is answered with 421 and the connection closed, as a server whose idle timeout ran out. */
  rsetCloses?: boolean;
}

export async function startScriptedNextHop(options: ScriptedNextHopOptions): Promise<ScriptedNextHop> {
  const { starttls, name = 'scripted.test' } = options;
  const { key, cert } = options.cert ?? (await makeCert({ names: ['localhost'] }));
  const commands: RecordedCommand[] = [];
  const received: ScriptedMessage[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let closedCount = 0;
  const closedWaiters: Array<{ count: number; resolve: () => void }> = [];

  const server = createServer((plain) => {
    const connection = ++connections;
    sockets.add(plain);
    plain.on('close', () => {
      sockets.delete(plain);
      closedCount++;
      for (const waiter of closedWaiters.filter((w) => w.count <= closedCount)) {
        closedWaiters.splice(closedWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
    plain.on('error', () => {});
    let stream: Socket = plain;
    let secure = false;
    let buffer = '';
    let from = '';
    let to: string[] = [];
    let inTransaction = false;
    let inData = false;
    const reply = (text: string): void => {
      if (!stream.destroyed) stream.write(`${text}\r\n`);
    };

    const upgrade = (maxVersion: 'TLSv1.2' | 'TLSv1.3' | undefined): void => {
      plain.off('data', onData);
      // whatever the client pipelined behind STARTTLS is plaintext: drop it, as RFC 3207 says
      buffer = '';
      const tls = new TLSSocket(plain, { isServer: true, key, cert, ...(maxVersion ? { maxVersion } : {}) });
      tls.on('error', () => {});
      tls.on('secure', () => {
        secure = true;
      });
      tls.on('data', onData);
      stream = tls;
    };

    const onStarttls = (): void => {
      switch (starttls.kind) {
        case 'not-offered':
          return reply('502 5.5.1 Unrecognized command');
        case 'refuse':
          reply(starttls.reply);
          if (starttls.close) plain.end();
          return;
        case 'reset':
          reply('220 2.0.0 Ready to start TLS');
          plain.off('data', onData);
          plain.once('data', () => plain.resetAndDestroy());
          return;
        case 'handshake':
          plain.write(`${starttls.reply ?? '220 2.0.0 Ready to start TLS'}\r\n${starttls.inject ?? ''}`);
          return upgrade(starttls.maxVersion);
      }
    };

    const onLine = (line: string): void => {
      if (inData) {
        if (line !== '.') return;
        inData = false;
        inTransaction = false;
        received.push({ connection, from, to, secure });
        return reply('250 2.0.0 Ok: queued by scripted hop');
      }
      const verb = line.split(/[\s:]/, 1)[0]?.toUpperCase() ?? '';
      commands.push({ connection, verb, line, secure });
      const argument = /<([^>]*)>/.exec(line)?.[1] ?? '';
      switch (verb) {
        case 'EHLO':
          if (!secure && options.ehlo !== undefined) return reply(options.ehlo);
          return reply(`250-${name}\r\n250-8BITMIME${!secure && starttls.kind !== 'not-offered' ? '\r\n250-STARTTLS' : ''}\r\n250 HELP`);
        case 'HELO':
          return reply(options.helo ?? `250 ${name}`);
        case 'STARTTLS':
          return secure ? reply('503 5.5.1 TLS already active') : onStarttls();
        case 'MAIL':
          if (inTransaction) return reply('503 5.5.1 Error: nested MAIL command');
          if (options.messagesPerConnection !== undefined && received.filter((m) => m.connection === connection).length >= options.messagesPerConnection) {
            reply('421 4.7.0 Too many messages in this session, try again later');
            stream.end();
            return;
          }
          inTransaction = true;
          from = argument;
          to = [];
          return reply('250 2.1.0 Ok');
        case 'RCPT': {
          const answer = options.rcptReplies?.[argument] ?? '250 2.1.5 Ok';
          if (answer.startsWith('2')) to.push(argument);
          return reply(answer);
        }
        case 'DATA':
          inData = true;
          return reply('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          if (options.rsetCloses) {
            reply('421 4.4.2 scripted.test Error: timeout exceeded');
            stream.end();
            return;
          }
          inTransaction = false;
          return reply('250 2.0.0 Ok');
        case 'QUIT':
          reply('221 2.0.0 Bye');
          stream.end();
          return;
        default:
          return reply('502 5.5.2 Error: command not recognized');
      }
    };

    function onData(chunk: Buffer): void {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const before = stream;
        onLine(line);
        // after an upgrade, the rest of this chunk was plaintext sent behind STARTTLS
        if (stream !== before) return;
      }
    }
    plain.on('data', onData);
    plain.write(options.greeting ?? '220 scripted.test ESMTP\r\n');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    port,
    commands,
    received,
    get connections() {
      return connections;
    },
    closed: (count) =>
      new Promise<void>((resolve) => {
        if (closedCount >= count) resolve();
        else closedWaiters.push({ count, resolve });
      }),
    hangUpAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
