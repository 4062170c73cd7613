// A plaintext SMTP next hop on 127.0.0.1 that counts what the relay does to it, for
// the backoff and connection-cap tests:
//
//   const peer = await startCountingPeer({ greeting: 'refuse' });   // 421 and hang up
//   … peer.connections …  peer.greeting = 'ok';                      // the host is back
//   peer.holdData = true; await peer.held(2); peer.releaseHeld();     // sessions kept open
//   await startCountingPeer({ greeting: 'ok', listeners: 2 })         // one peer on two ports
//
// A session counts as active from accept until QUIT arrives (or the socket closes): the
// relay sends QUIT before it lets go of a connection slot, so `maxActive` is exact.
import { createServer, type Socket } from 'node:net';

export interface CountingPeerOptions {
  /** 'ok': 220; 'refuse': "421 4.3.2 Service not available" and hang up. Can be changed later. */
  greeting: 'ok' | 'refuse';
  /** Keep each reply to the final dot until releaseHeld(). Can be changed later. */
  holdData?: boolean;
  /** Ports to listen on (default 1): two next-hop addresses to the relay, one set of counts here. */
  listeners?: number;
}

export interface CountingPeer {
  /** The first of `ports`. */
  port: number;
  ports: number[];
  greeting: 'ok' | 'refuse';
  holdData: boolean;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Sessions open now, and the most there ever were at once. */
  readonly active: number;
  readonly maxActive: number;
  /** Recipients of each message taken (250 sent), in order. */
  received: string[][];
  /** Resolves once at least `count` replies to the final dot are being held. */
  held(count: number): Promise<void>;
  /** Sends every held reply (250); returns how many. */
  releaseHeld(): number;
  close(): Promise<void>;
}

export const REFUSAL = '421 4.3.2 Service not available';

export async function startCountingPeer(options: CountingPeerOptions): Promise<CountingPeer> {
  const sockets = new Set<Socket>();
  const heldReplies: Array<() => void> = [];
  const heldWaiters: Array<{ count: number; resolve: () => void }> = [];
  const state = { connections: 0, active: 0, maxActive: 0 };

  const wakeHeldWaiters = (): void => {
    for (const waiter of [...heldWaiters]) {
      if (heldReplies.length < waiter.count) continue;
      heldWaiters.splice(heldWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  const onConnection = (socket: Socket): void => {
    state.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    let active = true;
    state.active++;
    state.maxActive = Math.max(state.maxActive, state.active);
    const ended = (): void => {
      if (!active) return;
      active = false;
      state.active--;
    };
    socket.on('close', () => {
      sockets.delete(socket);
      ended();
    });
    const reply = (line: string): void => {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
    };
    if (peer.greeting === 'refuse') {
      ended();
      socket.end(`${REFUSAL}\r\n`);
      return;
    }

    let buffer = '';
    let to: string[] = [];
    let inData = false;
    const onLine = (line: string): void => {
      if (inData) {
        if (line !== '.') return;
        inData = false;
        const recipients = to;
        const accept = (): void => {
          peer.received.push(recipients);
          reply('250 2.0.0 Ok: queued');
        };
        if (!peer.holdData) return accept();
        heldReplies.push(accept);
        wakeHeldWaiters();
        return;
      }
      const verb = line.split(/[\s:]/, 1)[0]?.toUpperCase() ?? '';
      switch (verb) {
        case 'EHLO':
          return reply('250-counting.test\r\n250 8BITMIME');
        case 'MAIL':
          to = [];
          return reply('250 2.1.0 Ok');
        case 'RCPT':
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          return reply('250 2.1.5 Ok');
        case 'DATA':
          inData = true;
          return reply('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          to = [];
          return reply('250 2.0.0 Ok');
        case 'QUIT':
          ended();
          reply('221 2.0.0 Bye');
          socket.end();
          return;
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
    reply('220 counting.test ESMTP');
  };

  const servers = Array.from({ length: options.listeners ?? 1 }, () => createServer(onConnection));
  const ports = await Promise.all(
    servers.map(async (server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('the peer is not listening on a TCP port');
      return address.port;
    }),
  );

  const peer: CountingPeer = {
    port: ports[0]!,
    ports,
    greeting: options.greeting,
    holdData: options.holdData ?? false,
    get connections() {
      return state.connections;
    },
    get active() {
      return state.active;
    },
    get maxActive() {
      return state.maxActive;
    },
    received: [],
    held: (count) => new Promise<void>((resolve) => {
      heldWaiters.push({ count, resolve });
      wakeHeldWaiters();
    }),
    releaseHeld() {
      const replies = heldReplies.splice(0);
      for (const send of replies) send();
      return replies.length;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
  return peer;
}
