import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Far over any real OCSP response (a few KiB with a responder certificate): a responder sending more is broken or hostile. */
export const OCSP_RESPONSE_LIMIT = 64 * 1024;

/** How the relay asks a responder; tests and callers may put their own in its place. */
export type OcspFetch = (url: string, request: Buffer, timeoutMs: number) => Promise<Buffer>;

/**
 * POSTs a DER OCSPRequest to `url` (RFC 6960 A.1) and resolves with the DER response body.
 * Rejects with an Error saying what went wrong, naming the URL: a scheme other than http
 * or https, no answer within `timeoutMs` (the whole exchange), a status other than 200
 * (redirects are not followed), a content type other than application/ocsp-response, or
 * a body over OCSP_RESPONSE_LIMIT.
 */
export const fetchOcspResponse: OcspFetch = (url, body, timeoutMs) =>
  new Promise<Buffer>((resolve, reject) => {
    const fail = (reason: string): void => reject(new Error(`OCSP responder ${url}: ${reason}`));
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      fail('not a URL');
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      fail(`scheme ${target.protocol} is not supported (http or https)`);
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(target, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', 'content-length': body.length, accept: 'application/ocsp-response' },
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', (err: NodeJS.ErrnoException) => fail(err.code ? `${err.code} ${err.message}` : err.message));
    request.on('response', (response: IncomingMessage) => {
      const refusal = responseRefusal(response);
      if (refusal !== undefined) {
        request.destroy(new Error(refusal));
        return;
      }
      // a body cut short after the head (the destroy below, a reset) errs here too
      response.on('error', (err: Error) => fail(err.message));
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > OCSP_RESPONSE_LIMIT) request.destroy(new Error(`response over ${OCSP_RESPONSE_LIMIT} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks)));
    });
    request.end(body);
  });

/** Why the response's head alone rules it out; undefined when its body is worth reading. */
function responseRefusal(response: IncomingMessage): string | undefined {
  if (response.statusCode !== 200) return `HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trimEnd();
  const type = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/ocsp-response') return `content type ${type || '(none)'} is not application/ocsp-response`;
  const length = Number(response.headers['content-length'] ?? 0);
  if (length > OCSP_RESPONSE_LIMIT) return `response of ${length} bytes is over ${OCSP_RESPONSE_LIMIT}`;
  return undefined;
}
