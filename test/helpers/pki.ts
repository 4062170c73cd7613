// Test certificates made at test time: nothing that expires is committed.
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
}

const DAY = 86_400_000;

/** A CA certificate that can sign leaves. */
export async function makeCa(name = 'tlsrelay test CA'): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - DAY),
    notAfterDate: new Date(Date.now() + 30 * DAY),
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
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfterDate: opts.notAfter ?? new Date(Date.now() + 30 * DAY),
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
