// Test certificates made at test time: nothing that expires is committed.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
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
/** Past the relay's expiry warnings (30 days and less), so that only tests that ask for them see one. */
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
  /** When the CRL stops being current; VALIDITY_DAYS from now when absent (past the expiry warnings' 30 days). */
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
    const nextUpdate = options.nextUpdate ?? new Date(Date.now() + VALIDITY_DAYS * DAY);
    // lastUpdate an hour back, so a CRL made for the past is still in order
    const lastUpdate = new Date(Math.min(Date.now(), nextUpdate.getTime()) - 3_600_000);
    await openssl('-gencrl', '-crl_lastupdate', asn1Time(lastUpdate), '-crl_nextupdate', asn1Time(nextUpdate), '-out', file('ca.crl'));
    return await readFile(file('ca.crl'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface IssueOptions {
  /** As `openssl req -subj` takes it: `/CN=relay.contoso.test/O=Contoso Ltd/OU=Mail`. */
  subject: string;
  /** Signs the certificate; self-signed when absent. */
  issuer?: KeyPair;
  /** basicConstraints CA:TRUE with keyCertSign, cRLSign. */
  ca?: boolean;
  /** `rsa:2048`, `rsa:3072`, `ec` (P-256) … as `openssl req -newkey` takes it; `ec` when absent. */
  newKey?: string;
  /** More extension lines, e.g. `subjectAltName = DNS:relay.contoso.test`, `authorityInfoAccess = OCSP;URI:http://…`. */
  extensions?: string[];
  /** Serial number in hex; random when absent. */
  serial?: string;
  days?: number;
}

/**
 * A certificate made by `openssl req` and `openssl x509` — a real CA tool, not the
 * library the relay reads certificates with — for what selfsigned cannot write
 * (organizational units, AIA, CRL distribution points, RSA sizes).
 */
export async function opensslCertificate({ subject, issuer, ca = false, newKey = 'ec', extensions = [], serial, days = VALIDITY_DAYS }: IssueOptions): Promise<KeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'tlsrelay-openssl-'));
  try {
    const file = (name: string): string => join(dir, name);
    const keyArgs = newKey === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', newKey];
    const basics = ca ? ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign, digitalSignature'] : ['basicConstraints = CA:FALSE'];
    const keyIds = ['subjectKeyIdentifier = hash', ...(issuer ? ['authorityKeyIdentifier = keyid'] : [])];
    await writeFile(file('ext.cnf'), `[ext]\n${[...keyIds, ...basics, ...extensions].join('\n')}\n`);
    await run('openssl', ['req', '-new', ...keyArgs, '-nodes', '-keyout', file('key.pem'), '-subj', subject, '-out', file('req.pem')]);
    const signer = issuer ? await Promise.all([writeFile(file('ca.crt'), issuer.cert), writeFile(file('ca.key'), issuer.key)]).then(() => ['-CA', file('ca.crt'), '-CAkey', file('ca.key')]) : ['-signkey', file('key.pem')];
    const serialArgs = serial === undefined ? (issuer ? ['-CAcreateserial', '-CAserial', file('ca.srl')] : []) : ['-set_serial', `0x${serial}`];
    await run('openssl', ['x509', '-req', '-in', file('req.pem'), ...signer, ...serialArgs, '-days', String(days), '-sha256', '-extfile', file('ext.cnf'), '-extensions', 'ext', '-out', file('cert.pem')]);
    return { key: await readFile(file('key.pem'), 'utf8'), cert: await readFile(file('cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A line of the index `openssl ca` keeps and `openssl ocsp` answers from. */
export interface OcspIndexEntry {
  certificate: KeyPair;
  /** Valid when absent. */
  revokedAt?: Date;
  /** A CRL reason as openssl ca writes it: keyCompromise, superseded … */
  reason?: string;
}

/** openssl ca's index: status, expiry (YYMMDDHHMMSSZ), revocation date[,reason], serial, file, subject. */
export function ocspIndex(entries: OcspIndexEntry[]): string {
  const shortTime = (date: Date): string => asn1Time(date).slice(2);
  return entries
    .map(({ certificate, revokedAt, reason }) => {
      // openssl ocsp looks serials up as BN_bn2hex writes them: no leading zero octets
      const serial = new X509Certificate(certificate.cert).serialNumber.toUpperCase().replace(/^(00)+(?=..)/, '');
      const revocation = revokedAt === undefined ? '' : `${shortTime(revokedAt)}${reason ? `,${reason}` : ''}`;
      return `${revokedAt === undefined ? 'V' : 'R'}\t491231235959Z\t${revocation}\t${serial}\tunknown\t/CN=test\n`;
    })
    .join('');
}

export interface OcspResponseOptions {
  /** The index the responder answers from; `leaf` valid when absent (so an empty list makes it unknown). */
  index?: OcspIndexEntry[];
  /** Signs the response (certificate and key); the CA itself when absent. */
  signer?: KeyPair;
  /** nextUpdate this many minutes on; none when absent. */
  minutes?: number;
  /** The digest signing the response (`sha384` …); OpenSSL's default when absent. */
  digest?: string;
  /** Leave the signer's certificate out of the response (-resp_no_certs). */
  noCerts?: boolean;
}

/**
 * An OCSP response (DER) for `leaf`, signed by `ca` unless `signer` says otherwise, as a
 * server staples it: made by `openssl ocsp` answering a request it made itself, from an
 * index that lists the certificate as valid unless `index` says otherwise.
 */
export async function makeOcspResponse(ca: KeyPair, leaf: KeyPair, { index = [{ certificate: leaf }], signer = ca, minutes, digest, noCerts = false }: OcspResponseOptions = {}): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'tlsrelay-ocsp-'));
  try {
    const file = (name: string): string => join(dir, name);
    await Promise.all([
      writeFile(file('ca.crt'), ca.cert),
      writeFile(file('signer.key'), signer.key),
      writeFile(file('signer.crt'), signer.cert),
      writeFile(file('leaf.crt'), leaf.cert),
      writeFile(file('index.txt'), ocspIndex(index)),
    ]);
    const optional = [...(minutes === undefined ? [] : ['-nmin', String(minutes)]), ...(digest === undefined ? [] : ['-rmd', digest]), ...(noCerts ? ['-resp_no_certs'] : [])];
    await run('openssl', ['ocsp', '-issuer', file('ca.crt'), '-cert', file('leaf.crt'), '-no_nonce', '-reqout', file('request.der')]);
    await run('openssl', ['ocsp', '-index', file('index.txt'), '-rsigner', file('signer.crt'), '-rkey', file('signer.key'), '-CA', file('ca.crt'), ...optional, '-reqin', file('request.der'), '-respout', file('response.der')]);
    return await readFile(file('response.der'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
