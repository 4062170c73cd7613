import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { AdminPassword } from './basicAuth.js';
import { dashboardAnswer, type DashboardSources } from './dashboard/dashboardEndpoint.js';
import type { Readiness } from './readiness.js';
import { needsPassword, route, type AdminEndpoint } from './routes.js';

// The admin listener: Node's http, three read-only endpoints. Every request gets an answer
// in 2xx, 4xx or 5xx; none changes anything in the relay.

/** What the endpoints read from the running relay. */
export interface AdminSources {
  /** admin.passwordHash of the running config (a reload may set or change it). */
  passwordHash(): string | undefined;
  readiness(): Promise<Readiness>;
  metrics(): Promise<{ contentType: string; text: string }>;
  dashboard: DashboardSources;
}

export interface AdminServer {
  /** The bound port (differs from the configured one when that was 0). */
  port: number;
  close(): Promise<void>;
}

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="tlsrelay admin", charset="UTF-8"' };

interface Answer {
  status: number;
  body: string;
  headers?: OutgoingHttpHeaders;
}

const text = (status: number, body: string, headers: OutgoingHttpHeaders = {}): Answer => ({ status, body: `${body}\n`, headers });

async function endpointAnswer(endpoint: AdminEndpoint, sources: AdminSources, url: string): Promise<Answer> {
  switch (endpoint) {
    case 'healthz':
      return text(200, 'ok');
    case 'readyz': {
      const readiness = await sources.readiness();
      return readiness.ready ? text(200, 'ready') : text(503, `not ready: ${readiness.reason}`);
    }
    case 'metrics': {
      const { contentType, text: body } = await sources.metrics();
      return { status: 200, body, headers: { 'Content-Type': contentType } };
    }
    case 'dashboard':
    case 'dashboard-data':
      return dashboardAnswer(endpoint, url, sources.dashboard);
  }
}

async function answerTo(request: IncomingMessage, sources: AdminSources, password: AdminPassword): Promise<Answer> {
  const target = route(request.method, request.url);
  const stored = sources.passwordHash();
  if (stored !== undefined && needsPassword(target) && !(await password.accepts(request.headers.authorization, stored))) return text(401, 'authentication required', CHALLENGE);
  if (target.kind === 'not-found') return text(404, 'not found: the admin listener serves /, /api/dashboard, /healthz, /readyz and /metrics');
  if (target.kind === 'method-not-allowed') return text(405, 'only GET and HEAD', { Allow: 'GET, HEAD' });
  return endpointAnswer(target.endpoint, sources, request.url ?? '/');
}

function send(response: ServerResponse, { status, body, headers = {} }: Answer): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

/** Binds the admin listener; rejects when the address and port cannot be had. */
export async function startAdminServer(address: string, port: number, sources: AdminSources, logger: Logger): Promise<AdminServer> {
  const password = new AdminPassword();
  const server: Server = createServer((request, response) => {
    // a body, which no endpoint takes, is read and dropped
    request.resume();
    answerTo(request, sources, password).then(
      (answer) => send(response, answer),
      (err: Error) => {
        logger.error({ path: request.url, err: err.message }, 'admin listener: cannot answer');
        send(response, text(500, 'internal error'));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    const refused = (err: Error): void => reject(new Error(`admin listener cannot listen on ${address}:${port}: ${err.message}`));
    server.once('error', refused);
    server.listen(port, address, () => {
      server.off('error', refused);
      resolve();
    });
  });
  // once bound, an error (a failed accept) is told and the listener goes on
  server.on('error', (err) => logger.warn({ err: err.message }, 'admin listener error'));
  const bound = (server.address() as AddressInfo).port;
  logger.info({ address, port: bound, password: sources.passwordHash() !== undefined }, 'admin listening');
  return {
    port: bound,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // a scraper's kept-alive connection would hold the close until it times out
        server.closeAllConnections();
      }),
  };
}
