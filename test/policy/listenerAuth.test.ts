import t from 'tap';
import { checkListenerAuth } from '../../src/policy/listenerAuth.js';

t.test('what a listener demands at MAIL FROM', async (t) => {
  const cases = [
    { auth: 'none', tls: false, authenticated: false, expect: { ok: true } },
    { auth: 'optional', tls: true, authenticated: false, expect: { ok: true } },
    { auth: 'optional', tls: false, authenticated: false, expect: { ok: true } },
    { auth: 'required', tls: true, authenticated: true, expect: { ok: true } },
    { auth: 'required', tls: false, authenticated: false, expect: { ok: false, code: 530, message: '5.7.0 Must issue a STARTTLS command first', reason: 'tls-required' } },
    { auth: 'required', tls: true, authenticated: false, expect: { ok: false, code: 530, message: '5.7.0 Authentication required', reason: 'auth' } },
  ] as const;
  for (const { auth, tls, authenticated, expect } of cases) {
    t.same(checkListenerAuth(auth, { tls, authenticated }), expect, `auth ${auth}, tls ${tls}, authenticated ${authenticated}`);
  }
});
