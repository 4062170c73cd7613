import { existsSync } from 'node:fs';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { loadTlsMaterial, loadTrust, TlsFileError, type LoadedTls, type TlsMaterial } from '../tls/material.js';

export type TlsLoad = ({ ok: true } & LoadedTls) | { ok: false; problem: string };

/**
 * Loads the certificate files a valid config names, for `start`, its reloads and
 * `check-config` alike: a problem reads `FILE:LINE:COL: message` at the key that names
 * the file (or `FILE: message` where the config gives none).
 */
export function tryLoadTls(file: string, config: Config, now = new Date()): TlsLoad {
  try {
    return { ok: true, ...loadTlsMaterial(config, now) };
  } catch (err) {
    return { ok: false, problem: tlsProblemOf(err, file) };
  }
}

/** Certificate files that will be generated at start are not there to be checked yet. */
export function certificatesToBeGenerated(config: Config): boolean {
  const { cert, key, generateIfMissing } = config.tls;
  return generateIfMissing && (cert === undefined || !existsSync(cert)) && (key === undefined || !existsSync(key));
}

/** The trust anchors and CRLs alone (loadTrust), for a command that judges peers' certificates but serves none. */
export function tryLoadTrust(file: string, config: Config): { ok: true; trust: Pick<TlsMaterial, 'ca' | 'crl'> } | { ok: false; problem: string } {
  try {
    return { ok: true, trust: loadTrust(config) };
  } catch (err) {
    return { ok: false, problem: tlsProblemOf(err, file) };
  }
}

/** A certificate file's problem at the key that names the file, else at the config file. */
export function tlsProblemOf(err: unknown, file: string): string {
  const place = err instanceof TlsFileError && err.place !== undefined ? err.place : file;
  return `${place}: ${(err as Error).message}`;
}

/** What check-config prints as warnings, `start` and its reloads log. */
export function logConfigWarnings(logger: Logger, config: Config): void {
  for (const { file, line, col, message } of config.warnings) logger.warn({ where: `${file}:${line}:${col}` }, message);
}
