// Asking a responder over HTTP, against real HTTP servers on loopback that answer well or badly.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { fetchOcspResponse, OCSP_RESPONSE_LIMIT } from '../../src/tls/ocsp/ocspFetch.js';
import { freePort } from '../helpers/ports.js';

type Handler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void;

/** An HTTP server on loopback; resolves with its URL. */
async function serve(t: Test, handler: Handler): Promise<string> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, Buffer.concat(chunks), response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ocsp`;
}

const OCSP = { 'content-type': 'application/ocsp-response' };
const request = Buffer.from('3003020101', 'hex');

t.test('POSTs the request as application/ocsp-request and returns the body', async (t) => {
  let seen: { method?: string; type?: string; body?: string } = {};
  const url = await serve(t, (incoming, body, response) => {
    seen = { method: incoming.method!, type: incoming.headers['content-type']!, body: body.toString('hex') };
    response.writeHead(200, OCSP).end(Buffer.from('3003'.repeat(10), 'hex'));
  });
  t.same(await fetchOcspResponse(url, request, 5000), Buffer.from('3003'.repeat(10), 'hex'));
  t.same(seen, { method: 'POST', type: 'application/ocsp-request', body: '3003020101' });
});

t.test('refuses what is not an OCSP response', async (t) => {
  const html = await serve(t, (_, __, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>captive portal</html>'));
  await t.rejects(fetchOcspResponse(html, request, 5000), { message: `OCSP responder ${html}: content type text/html is not application/ocsp-response` });
  const failing = await serve(t, (_, __, response) => response.writeHead(500, OCSP).end());
  await t.rejects(fetchOcspResponse(failing, request, 5000), { message: `OCSP responder ${failing}: HTTP 500 Internal Server Error` });
  const moved = await serve(t, (_, __, response) => response.writeHead(302, { location: 'http://127.0.0.1:1/' }).end());
  await t.rejects(fetchOcspResponse(moved, request, 5000), { message: `OCSP responder ${moved}: HTTP 302 Found` }, 'redirects are not followed');
});

t.test('caps the size of a response', async (t) => {
  const big = Buffer.alloc(OCSP_RESPONSE_LIMIT + 1);
  const declared = await serve(t, (_, __, response) => response.writeHead(200, { ...OCSP, 'content-length': big.length }).end(big));
  await t.rejects(fetchOcspResponse(declared, request, 5000), { message: `OCSP responder ${declared}: response of ${big.length} bytes is over ${OCSP_RESPONSE_LIMIT}` });
  const chunked = await serve(t, (_, __, response) => {
    response.writeHead(200, OCSP); // no content-length: the cap counts what arrives
    response.write(big.subarray(0, 40_000));
    response.end(big.subarray(40_000));
  });
  await t.rejects(fetchOcspResponse(chunked, request, 5000), { message: `OCSP responder ${chunked}: response over ${OCSP_RESPONSE_LIMIT} bytes` });
});

t.test('gives up after the timeout', async (t) => {
  const silent = await serve(t, () => undefined);
  const started = Date.now();
  await t.rejects(fetchOcspResponse(silent, request, 300), { message: `OCSP responder ${silent}: no answer within 300 ms` });
  t.ok(Date.now() - started < 5000, 'not much later than asked');
});

t.test('says why it could not ask at all', async (t) => {
  const down = `http://127.0.0.1:${await freePort()}/`;
  await t.rejects(fetchOcspResponse(down, request, 5000), { message: new RegExp(`^OCSP responder ${down}: ECONNREFUSED`) });
  await t.rejects(fetchOcspResponse('ldap://ocsp.example.test/', request, 5000), { message: 'OCSP responder ldap://ocsp.example.test/: scheme ldap: is not supported (http or https)' });
  await t.rejects(fetchOcspResponse('not a url', request, 5000), { message: 'OCSP responder not a url: not a URL' });
});
