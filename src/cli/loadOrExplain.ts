import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { loadTlsMaterial, loadTrust, TlsFileError, type ExpiringCertificate, type TlsMaterial } from '../tls/material.js';

export type TlsLoad = { ok: true; material: TlsMaterial; expiring: ExpiringCertificate[] } | { ok: false; problem: string };

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

/** check-config's line for a certificate near its end (`start` logs the same facts). */
export function expiryWarning(file: string, expiring: ExpiringCertificate): string {
  const days = expiring.daysLeft === 1 ? '1 day' : `${expiring.daysLeft} days`;
  return `${expiring.place ?? file}: warning: ${expiring.label}: the certificate ${expiring.cert} expires on ${expiring.notAfter.toISOString()} (in ${days}); renew it before then`;
}

/** What check-config prints as warnings, `start` and its reloads log. */
export function logConfigWarnings(logger: Logger, config: Config): void {
  for (const { file, line, col, message } of config.warnings) logger.warn({ where: `${file}:${line}:${col}` }, message);
}

/** `start`, its reloads and a replaced certificate say the same in the log. */
export function logExpiry(logger: Logger, expiring: readonly ExpiringCertificate[]): void {
  for (const { label, cert, place, notAfter, daysLeft } of expiring) {
    logger.warn({ cert, where: place, notAfter: notAfter.toISOString(), daysLeft }, `our certificate (${label}) expires soon; renew it before then`);
  }
}
