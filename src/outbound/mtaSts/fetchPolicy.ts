import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { MtaStsFailure, StsFailureType } from '../../policy/mtaSts.js';
import type { TlsMaterial } from '../../tls/material.js';
import { checkRevocation, peerChain } from '../../tls/revocation.js';
import { describeVerifyError } from '../observeTls.js';
import type { DnsLookups } from '../resolver.js';

// The HTTPS GET of a policy (RFC 8461 §3.3), strict where the RFC is: the certificate must
// be valid for mta-sts.DOMAIN against the system roots and tls.trust (and tls.crl), a
// redirect is a failure, only 200 with text/plain counts, the body is read up to 64 KiB.
// The host name is resolved with the relay's own lookups (dns.servers), never the system's.

export const POLICY_PATH = '/.well-known/mta-sts.txt';
export const POLICY_PORT = 443;
/** RFC 8461 §3.3 suggests this limit; a policy is a few hundred bytes. */
export const MAX_POLICY_BYTES = 64 * 1024;
/** For the whole GET over every address. RFC 8461 §3.3 suggests at most a minute; a delivery waits for it. */
export const FETCH_TIMEOUT_MS = 15_000;

/** The lookup the fetch needs: the policy host's addresses (A and AAAA, IPv4 first). */
export type PolicyHostLookups = Pick<DnsLookups, 'addresses'>;

/** System roots plus tls.trust, and tls.crl: the WebPKI the policy host is judged by. */
export type FetchTrust = Pick<TlsMaterial, 'ca' | 'crl'>;

export interface FetchOptions {
  lookups: PolicyHostLookups;
  trust: FetchTrust;
  timeoutMs?: number;
}

export type FetchedPolicy = { kind: 'fetched'; text: string } | { kind: 'failed'; failure: MtaStsFailure };

/** One address tried: an answer (good or bad), or no connection, so the next address may be tried. */
type Attempt = FetchedPolicy | { kind: 'unreachable'; reason: string };

export const policyHostOf = (domain: string): string => `mta-sts.${domain}`;

const failed = (resultType: StsFailureType, reason: string): FetchedPolicy => ({ kind: 'failed', failure: { resultType, reason } });

/** What an error before any answer means; `socket.authorizationError` is set only when Node refused the certificate. */
function judgeError(error: NodeJS.ErrnoException, host: string, socket: TLSSocket | undefined, connected: boolean, timeoutMs: number): Attempt {
  if (error.name === 'AbortError') return failed('sts-policy-fetch-error', `no complete answer from ${host} within ${timeoutMs / 1000} s`);
  if (socket?.authorizationError) {
    // Node's own words for a wrong name say which names the certificate has
    const detail = error.code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? error.message : describeVerifyError(error);
    return failed('sts-webpki-invalid', `certificate of ${host}: ${detail}`);
  }
  return connected ? failed('sts-policy-fetch-error', `${host}: ${error.message}`) : { kind: 'unreachable', reason: error.message };
}

/** A response's verdict before its body is read, or undefined when the body is to be read. */
function judgeHead(response: IncomingMessage, host: string): FetchedPolicy | undefined {
  // set on every response a client receives
  const status = response.statusCode!;
  if (status >= 300 && status < 400) {
    const { location } = response.headers;
    return failed('sts-policy-fetch-error', `${host} answered ${status}${location ? ` redirecting to ${location}` : ''}: redirects are not followed (RFC 8461 §3.3)`);
  }
  if (status !== 200) return failed('sts-policy-fetch-error', `${host} answered ${status} ${response.statusMessage}`);
  const type = response.headers['content-type'];
  const media = (type ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'text/plain') return failed('sts-policy-invalid', `${host} served the policy as ${type === undefined ? 'no Content-Type' : `"${type}"`}, not text/plain`);
  const length = Number(response.headers['content-length'] ?? 0);
  if (length > MAX_POLICY_BYTES) return failed('sts-policy-invalid', `${host} announced ${length} bytes; a policy may have at most ${MAX_POLICY_BYTES}`);
  return undefined;
}

function decode(body: Buffer, host: string): FetchedPolicy {
  try {
    return { kind: 'fetched', text: new TextDecoder('utf-8', { fatal: true }).decode(body) };
  } catch {
    return failed('sts-policy-invalid', `the policy from ${host} is not UTF-8 text`);
  }
}

/** The GET at one address, with the certificate checked against `host`. */
function getAt(address: string, host: string, trust: FetchTrust, signal: AbortSignal, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    let socket: TLSSocket | undefined;
    let connected = false;
    let settled = false;
    const settle = (attempt: Attempt): void => {
      if (settled) return;
      settled = true;
      resolve(attempt);
      req.destroy();
    };
    const req = request({
      host: address,
      port: POLICY_PORT,
      path: POLICY_PATH,
      method: 'GET',
      headers: { host, accept: 'text/plain' },
      servername: host,
      ca: trust.ca,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      // no pooled connection, so no resumed TLS session, whose certificate Node does not check again
      agent: false,
      signal,
    });
    req.on('socket', (raw) => {
      socket = raw as TLSSocket;
      socket.once('connect', () => (connected = true));
      socket.once('secureConnect', () => {
        // OpenSSL verified chain and name; the CRLs are ours to apply (tls/revocation.ts)
        const revocation = checkRevocation(peerChain(socket!), trust.crl, new Date());
        if (revocation.kind === 'failed') settle(failed('sts-webpki-invalid', `certificate of ${host}: ${revocation.reason}`));
      });
    });
    req.on('error', (error) => settle(judgeError(error, host, socket, connected, timeoutMs)));
    req.on('response', (response) => {
      const verdict = judgeHead(response, host);
      if (verdict) {
        settle(verdict);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_POLICY_BYTES) settle(failed('sts-policy-invalid', `the policy from ${host} is larger than ${MAX_POLICY_BYTES} bytes`));
        else chunks.push(chunk);
      });
      const cut = (): void => settle(failed('sts-policy-fetch-error', `${host} closed the connection before the policy was complete`));
      response.on('end', () => settle(decode(Buffer.concat(chunks), host)));
      // a timeout mid-body is an error on the request, which settles first
      response.on('error', cut);
      response.on('close', cut);
    });
    req.end();
  });
}

/**
 * GETs `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`: each address of the policy host in
 * turn until one answers, all within `timeoutMs`. A failure carries its RFC 8460 result
 * type: sts-webpki-invalid for the certificate, sts-policy-invalid for a body that is no
 * policy text, sts-policy-fetch-error for everything else.
 */
export async function fetchPolicyText(domain: string, { lookups, trust, timeoutMs = FETCH_TIMEOUT_MS }: FetchOptions): Promise<FetchedPolicy> {
  const host = policyHostOf(domain);
  const addresses = await lookups.addresses(host);
  if (addresses.kind === 'temporary') return failed('sts-policy-fetch-error', `address lookup of ${host} failed: ${addresses.error}`);
  if (addresses.kind !== 'found') return failed('sts-policy-fetch-error', `${host} has no address (${addresses.kind === 'nxdomain' ? 'NXDOMAIN' : 'no A or AAAA record'})`);
  const signal = AbortSignal.timeout(timeoutMs);
  const unreachable: string[] = [];
  for (const address of addresses.records) {
    const attempt = await getAt(address, host, trust, signal, timeoutMs);
    if (attempt.kind !== 'unreachable') return attempt;
    unreachable.push(`${address}: ${attempt.reason}`);
  }
  return failed('sts-policy-fetch-error', `cannot connect to ${host} (${unreachable.join('; ')})`);
}
