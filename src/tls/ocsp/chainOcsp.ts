import type { X509Certificate } from 'node:crypto';
import type { OcspSetting } from '../../config/types.js';
import type { OcspCache } from './ocspCache.js';
import { checkOcsp, decideOcsp, type OcspResult } from './ocspCheck.js';
import { fetchOcspResponse } from './ocspFetch.js';

/** tls.ocsp as the checks of one process take it: the mode, and the one cache every session shares. */
export interface OcspSettings {
  mode: Exclude<OcspSetting, 'off'>;
  cache: OcspCache;
}

/** The settings under tls.ocsp, or undefined when it is off. */
export function ocspSettingsFor(setting: OcspSetting, cache: OcspCache): OcspSettings | undefined {
  return setting === 'off' ? undefined : { mode: setting, cache };
}

/**
 * The leaf of a peer chain (leaf first, each followed by its issuer, as peerChain links it)
 * checked with its issuer's responder. Undefined when the chain holds no issuer to ask
 * about the leaf: a self-signed certificate has nobody to revoke it. Never rejects: a
 * certificate the request cannot be made for proves nothing, as an invalid response does.
 */
export async function checkChainOcsp(chain: readonly X509Certificate[], stapled: Buffer | undefined, settings: OcspSettings): Promise<OcspResult | undefined> {
  const [certificate, issuer] = chain;
  if (certificate === undefined || issuer === undefined) return undefined;
  try {
    return await checkOcsp({ certificate, issuer, ...(stapled === undefined ? {} : { stapled }), mode: settings.mode, cache: settings.cache, fetch: fetchOcspResponse, now: new Date() });
  } catch (err) {
    return { ...decideOcsp(settings.mode, { kind: 'invalid', reason: err instanceof Error ? err.message : String(err) }), source: 'none' };
  }
}

/** Why a chain that OCSP refused, or under `hard` could not confirm, is not valid: for the deferral and the refusal texts. */
export function ocspChainError(result: Extract<OcspResult, { kind: 'refuse' | 'temporary' }>): string {
  return result.kind === 'refuse' ? result.reason : `${result.reason} (tls.ocsp: hard)`;
}
