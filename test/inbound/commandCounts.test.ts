// The command counts of the disconnect line, as Postfix writes them.
import t from 'tap';
import { CommandCounts } from '../../src/inbound/commandCounts.js';

/** Feeds a dialog of [command word, ...reply codes] and returns the summary. */
function counted(dialog: Array<[string, ...number[]]>): string {
  const counts = new CommandCounts();
  for (const [word, ...replies] of dialog) {
    counts.command(word);
    for (const code of replies) counts.reply(code);
  }
  return counts.summary();
}

t.test('all succeeded: plain counts, in Postfix order', async (t) => {
  t.equal(
    counted([['EHLO', 250], ['STARTTLS', 220], ['EHLO', 250], ['MAIL', 250], ['RCPT', 250], ['DATA', 354, 250], ['QUIT', 221]]),
    'ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7',
  );
  t.equal(counted([['quit', 221], ['noop', 250], ['rset', 250], ['helo', 250]]), 'helo=1 rset=1 noop=1 quit=1 commands=4', 'order is Postfix\'s, not the dialog\'s');
});

t.test('failures make ok/total, for the command and for commands', async (t) => {
  t.equal(
    counted([['EHLO', 250], ['MAIL', 250], ['RCPT', 550], ['RCPT', 250], ['DATA', 354, 250], ['QUIT', 221]]),
    'ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6',
  );
  t.equal(counted([['EHLO', 250], ['MAIL', 250], ['RCPT', 250], ['DATA', 354, 554]]), 'ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4', 'refused after the dot: data failed');
  t.equal(counted([['MAIL', 503], ['RCPT', 503]]), 'mail=0/1 rcpt=0/1 commands=0/2');
});

t.test('unknown words count as unknown', async (t) => {
  t.equal(counted([['EHLO', 250], ['GET', 500], ['FOO', 500], ['WIZ', 500], ['QUIT', 221]]), 'ehlo=1 quit=1 unknown=0/3 commands=2/5');
  t.equal(counted([['unknown', 500]]), 'unknown=0/1 commands=0/1');
});

t.test('AUTH continuation lines after a 334 are part of the AUTH, not commands', async (t) => {
  t.equal(counted([['EHLO', 250], ['AUTH', 334], ['AUTH', 334], ['AUTH', 235], ['QUIT', 221]]), 'ehlo=1 auth=1 quit=1 commands=3');
  t.equal(counted([['EHLO', 250], ['AUTH', 334], ['AUTH', 535], ['AUTH', 235]]), 'ehlo=1 auth=1/2 commands=2/3', 'after a final reply the next AUTH is a new command');
});

t.test('a reply after the final one is not the command\'s (a 421 at idle timeout or shutdown)', async (t) => {
  t.equal(counted([['EHLO', 250, 421]]), 'ehlo=1 commands=1');
  t.equal(counted([['EHLO', 250], ['MAIL', 250], ['RCPT', 250], ['DATA', 354, 421]]), 'ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4', 'a 421 in DATA is DATA\'s final reply');
});

t.test('a command without a final reply failed: the client left, or left in the middle', async (t) => {
  t.equal(counted([['EHLO', 250], ['MAIL']]), 'ehlo=1 mail=0/1 commands=1/2');
  t.equal(counted([['EHLO', 250], ['MAIL', 250], ['RCPT', 250], ['DATA', 354]]), 'ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4');
});

t.test('replies before any command (greeting, a refusal at connect) count for nothing', async (t) => {
  const counts = new CommandCounts();
  counts.reply(220);
  counts.reply(421);
  t.equal(counts.summary(), 'commands=0');
});
