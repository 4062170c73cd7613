import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { OutboundConnector } from '../config/types.js';
import type { TlsMaterial } from '../tls/material.js';

interface Cached {
  crl: string;
  context: SecureContext;
}

// Building a context loads every trust anchor (the system roots and tls.trust) into a
// new OpenSSL store: milliseconds of CPU and a lot of native memory each time. One
// context per (certificates snapshot, connector) serves every delivery until a reload
// replaces the snapshot; a CRL whose text changed builds a new one.
const contexts = new WeakMap<TlsMaterial, WeakMap<OutboundConnector, Cached>>();

/** The TLS context for one connector, built once per config snapshot and CRL content. Throws what createSecureContext throws. */
export function secureContextFor(
  material: TlsMaterial,
  connector: OutboundConnector,
  crl: string[],
  options: SecureContextOptions,
): SecureContext {
  let byConnector = contexts.get(material);
  if (!byConnector) {
    byConnector = new WeakMap();
    contexts.set(material, byConnector);
  }
  const crlText = crl.join('\n');
  const cached = byConnector.get(connector);
  if (cached && cached.crl === crlText) return cached.context;
  const context = createSecureContext({ ...options, ...(crl.length > 0 ? { crl } : {}) });
  byConnector.set(connector, { crl: crlText, context });
  return context;
}
