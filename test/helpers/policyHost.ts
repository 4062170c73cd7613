// An MTA-STS policy host: HTTPS on port 443 of a loopback address of its own (127.x.y.z,
// so that test files running side by side never share one), with the certificate the test
// gives. Point the test DNS at it: `mta-sts.DOMAIN: { A: [host.address] }`. Tests run as
// root, which may bind 443.
//
//   const host = await startPolicyHost({ cert, policy: 'version: STSv1\n…' });
//   host.requests.length  (every GET it answered, with its path, Host header and SNI name)
//   host.respond = (req, res) => { res.writeHead(301, { location: … }).end(); };
//   await host.stop();   (nothing listens any more: the host is down)
import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KeyPair } from './pki.js';

export type PolicyResponder = (req: IncomingMessage, res: ServerResponse) => void;

export interface PolicyRequest {
  path: string;
  host: string | undefined;
  /** The SNI name the client asked for, if any. */
  servername: string | undefined;
}

export interface PolicyHost {
  address: string;
  /** The policy served by the default responder (text/plain, 200); change it at any time. */
  policy: string;
  /** How requests are answered; the default serves `policy`. */
  respond: PolicyResponder;
  requests: PolicyRequest[];
  stop(): Promise<void>;
}

export interface PolicyHostOptions {
  cert: KeyPair;
  policy?: string;
}

async function listenOnSomeLoopback(server: Server): Promise<string> {
  for (;;) {
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const bound = await new Promise<boolean>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err));
      server.once('error', onError);
      server.listen(443, address, () => {
        server.off('error', onError);
        resolve(true);
      });
    });
    if (bound) return address;
  }
}

export async function startPolicyHost({ cert, policy = '' }: PolicyHostOptions): Promise<PolicyHost> {
  const sockets = new Set<Socket>();
  const host: PolicyHost = {
    address: '',
    policy,
    respond: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(host.policy);
    },
    requests: [],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    host.requests.push({ path: req.url ?? '', host: req.headers.host, servername: (req.socket as TLSSocket).servername || undefined });
    host.respond(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // a client that gives up mid-handshake is not the server's failure
  server.on('tlsClientError', () => {});
  host.address = await listenOnSomeLoopback(server);
  return host;
}
