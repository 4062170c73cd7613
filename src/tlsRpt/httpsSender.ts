import { request } from 'node:https';
import { isIP } from 'node:net';
import type { TlsMaterial } from '../tls/material.js';
import type { DnsLookups } from '../outbound/resolver.js';
import { REPORT_MEDIA_TYPE, type ReportFile } from './reportFile.js';

// An `https:` report (RFC 8460 §5.4): the gzipped report POSTed as application/tlsrpt+gzip;
// any 2xx is success. The endpoint's certificate is judged as the relay judges every web
// server: the system roots and tls.trust, the name of the URL. Its name is looked up with
// the relay's own resolvers (dns.servers). The whole POST, over every address, has one
// deadline: an endpoint that hangs costs that long and holds up nothing else.

export interface HttpsSendOptions {
  lookups: Pick<DnsLookups, 'addresses'>;
  ca: TlsMaterial['ca'];
  timeoutMs: number;
}

/** `detail`: the status on success, else what went wrong. */
export interface SendOutcome {
  ok: boolean;
  detail: string;
}

async function addressesOf(url: URL, lookups: HttpsSendOptions['lookups']): Promise<string[] | string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return [host];
  const found = await lookups.addresses(host);
  if (found.kind === 'found') return found.records;
  return found.kind === 'temporary' ? `address lookup of ${host} failed: ${found.error}` : `${host} has no address`;
}

function postTo(address: string, url: URL, file: ReportFile, options: HttpsSendOptions, signal: AbortSignal): Promise<SendOutcome & { connected: boolean }> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const settle = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve({ ...outcome, connected });
    };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const req = request({
      host: address,
      port: url.port === '' ? 443 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { host: url.host, 'content-type': REPORT_MEDIA_TYPE, 'content-length': file.gzipped.length },
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ca: options.ca,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      agent: false,
      signal,
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    req.on('error', (error) => settle({ ok: false, detail: error.name === 'AbortError' ? `no answer within ${options.timeoutMs / 1000} s` : error.message }));
    req.on('response', (response) => {
      const status = response.statusCode!;
      response.resume();
      settle(status >= 200 && status < 300 ? { ok: true, detail: `${status}` } : { ok: false, detail: `answered ${status} ${response.statusMessage ?? ''}`.trim() });
    });
    req.end(file.gzipped);
  });
}

/** POSTs the report to `url`, each address in turn until one takes the connection, all within the timeout. */
export async function postReport(url: URL, file: ReportFile, options: HttpsSendOptions): Promise<SendOutcome> {
  const addresses = await addressesOf(url, options.lookups);
  if (typeof addresses === 'string') return { ok: false, detail: addresses };
  const signal = AbortSignal.timeout(options.timeoutMs);
  const failures: string[] = [];
  for (const address of addresses) {
    const outcome = await postTo(address, url, file, options, signal);
    // an address that took the connection answered for the endpoint; the next is tried only after a refusal
    if (outcome.ok || outcome.connected || signal.aborted) return { ok: outcome.ok, detail: outcome.detail };
    failures.push(`${address}: ${outcome.detail}`);
  }
  return { ok: false, detail: `cannot connect (${failures.join('; ')})` };
}
