import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { OutboundConnector } from '../config/types.js';
import type { TlsMaterial } from '../tls/material.js';

// Building a context loads every trust anchor (the system roots and tls.trust) into a
// new OpenSSL store: milliseconds of CPU and a lot of native memory each time. One
// context per (certificates snapshot, connector) serves every delivery until a reload
// replaces the snapshot. CRLs are not part of it: they are applied after the handshake.
const contexts = new WeakMap<TlsMaterial, WeakMap<OutboundConnector, SecureContext>>();

/** The TLS context for one connector, built once per config snapshot. Throws what createSecureContext throws. */
export function secureContextFor(material: TlsMaterial, connector: OutboundConnector, options: SecureContextOptions): SecureContext {
  let byConnector = contexts.get(material);
  if (!byConnector) {
    byConnector = new WeakMap();
    contexts.set(material, byConnector);
  }
  const cached = byConnector.get(connector);
  if (cached) return cached;
  const context = createSecureContext(options);
  byConnector.set(connector, context);
  return context;
}
