import t from 'tap';
import { checkAddressCharset } from '../../src/policy/addressCharset.js';

t.test('which addresses a transaction may carry (RFC 6531 3.4)', async (t) => {
  const mustDeclare = { ok: false, code: 553, message: '5.6.7 Must declare SMTPUTF8 to send unicode address', reason: 'address' };
  const malformed = { ok: false, code: 553, message: '5.6.7 Malformed UTF-8 in address', reason: 'address' };
  const cases = [
    { charset: 'ascii', smtputf8: false, expect: { ok: true } },
    { charset: 'ascii', smtputf8: true, expect: { ok: true } },
    { charset: 'utf8', smtputf8: true, expect: { ok: true } },
    { charset: 'utf8', smtputf8: false, expect: mustDeclare },
    { charset: 'not-utf8', smtputf8: false, expect: mustDeclare },
    { charset: 'not-utf8', smtputf8: true, expect: malformed },
  ] as const;
  for (const { charset, smtputf8, expect } of cases) t.same(checkAddressCharset(charset, smtputf8), expect, `${charset}, SMTPUTF8 ${smtputf8 ? 'given' : 'not given'}`);
});
