import type { AuthMode } from '../config/types.js';
import type { InboundVerdict } from './inbound.js';

export const AUTH_REQUIRED_REPLY = '5.7.0 Authentication required';

/**
 * What a listener's `auth` demands at MAIL FROM. AUTH is only offered after TLS, so on an
 * `auth: required` listener a plaintext session is told to start TLS first.
 */
export function checkListenerAuth(auth: AuthMode, session: { tls: boolean; authenticated: boolean }): InboundVerdict {
  if (auth !== 'required' || session.authenticated) return { ok: true };
  if (!session.tls) return { ok: false, code: 530, message: '5.7.0 Must issue a STARTTLS command first', reason: 'tls-required' };
  return { ok: false, code: 530, message: AUTH_REQUIRED_REPLY, reason: 'auth' };
}
