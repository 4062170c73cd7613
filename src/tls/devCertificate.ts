import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generate } from 'selfsigned';
import type { Logger } from '../log.js';

const YEAR_MS = 365 * 86_400_000;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `tls.generateIfMissing`: when neither the certificate nor the key exists, make a
 * self-signed pair for the relay's host name so a fresh checkout can start. An existing
 * file is never overwritten (the 'wx' flag makes that hold even against a race), and a
 * lone certificate or key is an error: pairing it with a new half would not work.
 */
export async function ensureDevCertificate(
  certPath: string,
  keyPath: string,
  hostname: string,
  logger: Logger,
): Promise<void> {
  const [haveCert, haveKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (haveCert && haveKey) return;
  if (haveCert !== haveKey) {
    const missing = haveCert ? keyPath : certPath;
    throw new Error(`tls.generateIfMissing: ${missing} is missing but its pair exists; refusing to generate over half a pair`);
  }
  const names = [...new Set([hostname, 'localhost'])];
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + YEAR_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  await mkdir(dirname(keyPath), { recursive: true });
  await mkdir(dirname(certPath), { recursive: true });
  await writeFile(keyPath, pems.private, { flag: 'wx', mode: 0o600 });
  await writeFile(certPath, pems.cert, { flag: 'wx', mode: 0o644 });
  logger.warn(
    { cert: certPath, names },
    'generated a self-signed development certificate (tls.generateIfMissing); replace it with a real one before production',
  );
}
