import t from 'tap';
import { withOneStatusCode } from '../../src/inbound/oneStatusCode.js';

t.test('what smtp-server is told to send, so that a reply carries one enhanced status code', async (t) => {
  const cases: Array<[Parameters<typeof withOneStatusCode>[0], ReturnType<typeof withOneStatusCode>, string]> = [
    [[250, 'Accepted', 'MAIL_FROM_OK'], [250, 'Ok', 'MAIL_FROM_OK'], 'MAIL in Postfix\'s words; smtp-server adds 2.1.0'],
    [[250, 'Accepted', 'RCPT_TO_OK'], [250, 'Ok', 'RCPT_TO_OK'], 'RCPT in Postfix\'s words; smtp-server adds 2.1.5'],
    [[550, '5.7.1 Relaying denied', undefined], [550, '5.7.1 Relaying denied', false], 'a text with its own code gets no second one'],
    [[250, '2.0.0 Ok: queued as X', 'DATA_OK'], [250, '2.0.0 Ok: queued as X', false], 'nor does the reply to the final dot'],
    [[421, '4.7.0', undefined], [421, '4.7.0', false], 'a code alone'],
    [[503, 'Error: need MAIL command', undefined], [503, 'Error: need MAIL command', undefined], 'smtp-server\'s own texts get its code'],
    [[550, '5.7 is not a code', undefined], [550, '5.7 is not a code', undefined], 'digits that are not a full code'],
    [[550, '5.7.1x', undefined], [550, '5.7.1x', undefined], 'a code must end at a space or the end'],
    [[250, ['relay.test', 'PIPELINING'], false], [250, ['relay.test', 'PIPELINING'], false], 'EHLO as it is'],
  ];
  for (const [reply, expected, name] of cases) t.same(withOneStatusCode(reply), expected, name);
});
