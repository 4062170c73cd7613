import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { TlsFileError } from './material.js';

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
 * Writes one half of the new pair. A folder the relay's user cannot write (a volume
 * mounted from the host, /etc/tlsrelay under systemd) is said in one line at the key that
 * names the file, not as a stack trace.
 */
async function writeNewFile(config: Config, name: 'tls.cert' | 'tls.key', path: string, contents: string, mode: number): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, contents, { flag: 'wx', mode });
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const user = process.getuid?.();
    throw new TlsFileError(
      `tls.generateIfMissing: cannot write ${name} ${path} into the folder ${dirname(path)} (${code ?? message}): make that folder writable for the relay's user${user === undefined ? '' : ` (uid ${user})`}, or put a certificate and its key there`,
      config.places[name],
    );
  }
}

/**
 * `tls.generateIfMissing`: when neither the certificate nor the key exists, make a
 * self-signed pair for the relay's host name so a fresh checkout can start. An existing
 * file is never overwritten (the 'wx' flag makes that hold even against a race), and a
 * lone certificate or key is an error: pairing it with a new half would not work.
 */
export async function ensureDevCertificate(config: Config, certPath: string, keyPath: string, logger: Logger): Promise<void> {
  const { hostname } = config.server;
  const [haveCert, haveKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (haveCert && haveKey) return;
  if (haveCert !== haveKey) {
    const missing = haveCert ? keyPath : certPath;
    throw new Error(`tls.generateIfMissing: ${missing} is missing but its pair exists; refusing to generate over half a pair`);
  }
  const names = [...new Set([hostname, 'localhost'])];
  // loaded only here: it takes most of a second, which every start would pay for a pair made once
  const { generate } = await import('selfsigned');
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
  await writeNewFile(config, 'tls.key', keyPath, pems.private, 0o600);
  await writeNewFile(config, 'tls.cert', certPath, pems.cert, 0o644);
  logger.warn(
    { cert: certPath, names },
    'generated a self-signed development certificate (tls.generateIfMissing); replace it with a real one before production',
  );
}
