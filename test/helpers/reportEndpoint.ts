// A loopback HTTPS endpoint that takes TLS-RPT POSTs (RFC 8460 §5.4), with the certificate
// the test gives: each POST answered 201 and kept with its path, media type and report
// (un-gzipped). Paths under /hang are never answered, as a stuck endpoint would do.
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { KeyPair } from './pki.js';

export interface ReportPost {
  path: string;
  host: string | undefined;
  contentType: string | undefined;
  report: Record<string, unknown>;
}

export interface ReportEndpoint {
  port: number;
  posts: ReportPost[];
  /** Paths of the requests left hanging, in order of arrival. */
  hung: string[];
  close(): Promise<void>;
}

export async function startReportEndpoint(cert: KeyPair): Promise<ReportEndpoint> {
  const sockets = new Set<Socket>();
  const endpoint: ReportEndpoint = {
    port: 0,
    posts: [],
    hung: [],
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/hang')) {
      endpoint.hung.push(path);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const report = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as Record<string, unknown>;
      endpoint.posts.push({ path, host: req.headers.host, contentType: req.headers['content-type'], report });
      res.writeHead(201).end();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.port = (server.address() as AddressInfo).port;
  return endpoint;
}
