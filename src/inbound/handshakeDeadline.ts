import type { Server, Socket } from 'node:net';
import { HANDSHAKE_TIMEOUT_CODE } from './handshakeFailureReason.js';

/** One command line on its own: the client asks to start TLS. */
const STARTTLS_LINE = /(?:^|\n)STARTTLS[ \t]*\r?\n/i;
/** Enough of an unfinished line to recognise STARTTLS split over two packets. */
const TAIL = 16;

/**
 * smtp-server gives a TLS handshake as long as an idle session (smtp.idleTimeout,
 * minutes), so a client that starts a handshake and stalls (slowloris) would hold a
 * connection slot that long. smtp.handshakeTimeout bounds it: from the accept on an
 * implicit-TLS listener, from the STARTTLS line on a STARTTLS listener, until onSecure
 * reports the handshake done. An expired deadline destroys the socket with an error of
 * code HANDSHAKE_TIMEOUT_CODE, which is reported as the handshake's failure (handshakeFailures.ts).
 */
export class HandshakeDeadlines {
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private timeoutMs: number,
    /**
     * The socket to destroy for an accepted one: on an implicit-TLS listener the TLS
     * socket smtp-server wrapped around it. Destroying the plain socket underneath a TLS
     * handshake in progress tears the wrap down from below, which can bring Node down.
     */
    private readonly topmost: (socket: Socket) => Socket = (socket) => socket,
  ) {}

  /** SIGHUP: later deadlines use the new smtp.handshakeTimeout. */
  reconfigure(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
  }

  watch(server: Server, tls: 'implicit' | 'starttls'): void {
    server.on('connection', (socket: Socket) => {
      if (tls === 'implicit') {
        this.arm(socket);
        return;
      }
      // smtp-server pipes the socket into its parser on the next turn (setImmediate, FIFO):
      // a 'data' listener added before that would switch the socket to flowing mode and
      // take an early talker's bytes away from the parser
      setImmediate(() => this.watchForStarttls(socket));
    });
  }

  /** The handshake of this socket (plain or TLS: they share the remote address and port) is done. */
  settled(socket: Socket): void {
    this.clear(keyOf(socket));
  }

  private clear(key: string): void {
    clearTimeout(this.pending.get(key));
    this.pending.delete(key);
  }

  private watchForStarttls(socket: Socket): void {
    let tail = '';
    const onData = (chunk: Buffer): void => {
      const text = tail + chunk.toString('latin1');
      tail = text.slice(text.lastIndexOf('\n') + 1).slice(-TAIL);
      if (STARTTLS_LINE.test(text) && !this.pending.has(keyOf(socket))) this.arm(socket, stillPlaintext);
    };
    // smtp-server removes every listener from the plain socket when it starts the
    // handshake. A STARTTLS line that started none (a line of message text, a refused
    // command) leaves this one in place, and the session is not cut for it.
    const stillPlaintext = (): boolean => socket.listeners('data').includes(onData);
    if (!socket.destroyed) socket.on('data', onData);
  }

  private arm(socket: Socket, stillPlaintext: () => boolean = () => false): void {
    const key = keyOf(socket);
    const timer = setTimeout(() => {
      this.pending.delete(key);
      if (socket.destroyed || stillPlaintext()) return;
      this.topmost(socket).destroy(Object.assign(new Error('TLS handshake timed out'), { code: HANDSHAKE_TIMEOUT_CODE }));
    }, this.timeoutMs);
    timer.unref();
    this.pending.set(key, timer);
    socket.once('close', () => this.clear(key));
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
