import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { loadTlsMaterial, TlsFileError, type ExpiringCertificate, type TlsMaterial } from '../tls/material.js';

export type TlsLoad = { ok: true; material: TlsMaterial; expiring: ExpiringCertificate | undefined } | { ok: false; problem: string };

/**
 * Loads the certificate files a valid config names, for `start`, its reloads and
 * `check-config` alike: a problem reads `FILE:LINE:COL: message` at the key that names
 * the file (or `FILE: message` where the config gives none).
 */
export function tryLoadTls(file: string, config: Config, now = new Date()): TlsLoad {
  try {
    return { ok: true, ...loadTlsMaterial(config, now) };
  } catch (err) {
    const place = err instanceof TlsFileError && err.place !== undefined ? err.place : file;
    return { ok: false, problem: `${place}: ${(err as Error).message}` };
  }
}

/** check-config's line for a certificate near its end (`start` logs the same facts). */
export function expiryWarning(file: string, expiring: ExpiringCertificate): string {
  const days = expiring.daysLeft === 1 ? '1 day' : `${expiring.daysLeft} days`;
  return `${expiring.place ?? file}: warning: tls.cert: the certificate ${expiring.cert} expires on ${expiring.notAfter.toISOString()} (in ${days}); renew it before then`;
}

/** What check-config prints as warnings, `start` and its reloads log. */
export function logConfigWarnings(logger: Logger, config: Config): void {
  for (const { file, line, col, message } of config.warnings) logger.warn({ where: `${file}:${line}:${col}` }, message);
}

/** `start` and its reloads say the same in the log. */
export function logExpiry(logger: Logger, expiring: ExpiringCertificate | undefined): void {
  if (expiring === undefined) return;
  const { cert, place, notAfter, daysLeft } = expiring;
  logger.warn({ cert, where: place, notAfter: notAfter.toISOString(), daysLeft }, 'our certificate (tls.cert) expires soon; renew it before then');
}
