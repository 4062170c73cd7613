import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { certificatesFor } from './certificateSelection.js';
import type { ServedCertificate } from './material.js';

export type SniCallback = (servername: string, callback: (err: Error | null, context?: SecureContext) => void) => void;

/** The part of a listener's TLS options that serves our certificates. */
export interface ServingOptions {
  /** For clients without SNI, or asking for a name no certificate holds. */
  key: string[];
  cert: string[];
  /** The certificates for the name a client asks for; no context (the default one) when those are the default ones. */
  SNICallback: SniCallback;
}

function pairs(certificates: readonly ServedCertificate[]): Pick<ServingOptions, 'key' | 'cert'> {
  return { key: certificates.map(({ key }) => key), cert: certificates.map(({ cert }) => cert) };
}

/**
 * `options`: everything else of the listener's context (versions, ciphers, trust), which
 * a context for another name must have too. Each set of certificates gets its context
 * once, when first asked for, until the next reload makes new options.
 */
export function servingOptions(certificates: readonly ServedCertificate[], options: SecureContextOptions): ServingOptions {
  const defaults = certificatesFor(certificates, undefined);
  const contexts = new Map<string, SecureContext>();
  const SNICallback: SniCallback = (servername, callback) => {
    const chosen = certificatesFor(certificates, servername);
    if (chosen.length === defaults.length && chosen.every((certificate, index) => certificate === defaults[index])) return callback(null, undefined);
    const id = chosen.map((certificate) => certificates.indexOf(certificate)).join(',');
    let context = contexts.get(id);
    try {
      context ??= createSecureContext({ ...options, ...pairs(chosen) });
    } catch (err) {
      // each pair was proven usable when it was loaded: this is not expected
      return callback(err as Error);
    }
    contexts.set(id, context);
    return callback(null, context);
  };
  return { ...pairs(defaults), SNICallback };
}
