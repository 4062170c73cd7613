import t from 'tap';
import { checkTextBefore354 } from '../../src/policy/pipelining.js';

t.test('message text before the 354: refused only from sessions that may not relay', async (t) => {
  const refused = { ok: false, code: 554, message: '5.5.0 Error: SMTP protocol synchronization', reason: 'pipelining' };
  const cases = [
    { textBefore354: false, mayRelay: false, expect: { ok: true } },
    { textBefore354: false, mayRelay: true, expect: { ok: true } },
    { textBefore354: true, mayRelay: true, expect: { ok: true } },
    { textBefore354: true, mayRelay: false, expect: refused },
  ];
  for (const { textBefore354, mayRelay, expect } of cases) {
    t.same(checkTextBefore354(textBefore354, mayRelay), expect, `text ${textBefore354 ? 'before' : 'after'} the 354, ${mayRelay ? 'may' : 'may not'} relay`);
  }
});
