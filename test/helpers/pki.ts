// Test certificates made at test time: nothing that expires is committed.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'selfsigned';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface CertOptions {
  /** DNS names for the SAN; the first is also the CN. */
  names?: string[];
  ips?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Sign with this CA; self-signed when absent. */
  ca?: KeyPair;
  clientAuth?: boolean;
  /** Must be the CA's key type when `ca` is given (selfsigned signs with the leaf's algorithm). */
  keyType?: 'ec' | 'rsa';
}

const DAY = 86_400_000;
/** Past the relay's 30-day expiry warning, so that only tests that ask for it see one. */
const VALIDITY_DAYS = 90;
const run = promisify(execFile);

export interface CaOptions {
  /** Signs the new CA, making it an intermediate; self-signed (a root) when absent. */
  issuer?: KeyPair;
  keyType?: 'ec' | 'rsa';
  /** A day ago and VALIDITY_DAYS on when absent. */
  notBefore?: Date;
  notAfter?: Date;
}

/** A CA certificate that can sign leaves (and CRLs). */
export async function makeCa(name = 'tlsrelay test CA', { issuer, keyType = 'ec', notBefore, notAfter }: CaOptions = {}): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType,
    algorithm: 'sha256',
    notBeforeDate: notBefore ?? new Date(Date.now() - DAY),
    notAfterDate: notAfter ?? new Date(Date.now() + VALIDITY_DAYS * DAY),
    ...(issuer ? { ca: issuer } : {}),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** A leaf certificate for a server (and optionally a client). */
export async function makeCert(opts: CertOptions = {}): Promise<KeyPair> {
  const names = opts.names ?? ['localhost'];
  const altNames = [
    ...names.map((value) => ({ type: 2 as const, value })),
    ...(opts.ips ?? []).map((ip) => ({ type: 7 as const, ip })),
  ];
  const pems = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
    keyType: opts.keyType ?? 'ec',
    algorithm: 'sha256',
    notBeforeDate: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfterDate: opts.notAfter ?? new Date(Date.now() + VALIDITY_DAYS * DAY),
    ...(opts.ca ? { ca: opts.ca } : {}),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: opts.clientAuth ?? true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

export interface CrlOptions {
  /** Certificates (PEM) the CA declares revoked. */
  revoked?: string[];
  /** When the CRL stops being current; 30 days from now when absent. */
  nextUpdate?: Date;
}

/** OpenSSL's ASN.1 time for `openssl ca`: YYYYMMDDHHMMSSZ. */
const asn1Time = (date: Date): string => date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}/, '');

/**
 * A CRL (PEM) signed by `ca`, made by `openssl ca` — a different implementation from
 * the relay's, so the test checks the relay against what a real CA publishes.
 */
export async function makeCrl(ca: KeyPair, options: CrlOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tlsrelay-crl-'));
  try {
    const file = (name: string): string => join(dir, name);
    await writeFile(file('ca.key'), ca.key);
    await writeFile(file('ca.crt'), ca.cert);
    await writeFile(file('index.txt'), '');
    await writeFile(file('crlnumber'), '01\n');
    await writeFile(
      file('ca.cnf'),
      `[ca]\ndefault_ca = test\n[test]\ndatabase = ${file('index.txt')}\ncrlnumber = ${file('crlnumber')}\ndefault_md = sha256\n`,
    );
    const openssl = (...args: string[]): Promise<unknown> => run('openssl', ['ca', '-batch', '-config', file('ca.cnf'), '-keyfile', file('ca.key'), '-cert', file('ca.crt'), ...args]);
    for (const [index, cert] of (options.revoked ?? []).entries()) {
      await writeFile(file(`revoked${index}.crt`), cert);
      await openssl('-revoke', file(`revoked${index}.crt`));
    }
    const nextUpdate = options.nextUpdate ?? new Date(Date.now() + 30 * DAY);
    // lastUpdate an hour back, so a CRL made for the past is still in order
    const lastUpdate = new Date(Math.min(Date.now(), nextUpdate.getTime()) - 3_600_000);
    await openssl('-gencrl', '-crl_lastupdate', asn1Time(lastUpdate), '-crl_nextupdate', asn1Time(nextUpdate), '-out', file('ca.crl'));
    return await readFile(file('ca.crl'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
