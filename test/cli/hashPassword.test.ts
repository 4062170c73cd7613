// `tlsrelay hash-password` as an administrator runs it: password on stdin, hash on stdout.
import t from 'tap';
import { parsePasswordHash } from '../../src/config/password-hash.js';
import { verifyPassword } from '../../src/config/passwords.js';
import { PROJECT_ROOT, runCli } from '../helpers/relayProcess.js';

t.test('prints one PHC scrypt line for the first line of stdin, which the server-side check accepts', async (t) => {
  const result = await runCli(['hash-password'], PROJECT_ROOT, 'Tr0ub4dor &3\n');
  t.equal(result.code, 0);
  t.equal(result.stderr, '', 'nothing on stderr when stdin is not a terminal');
  t.match(result.stdout, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$/, 'the hash and a newline, nothing else');
  const parsed = parsePasswordHash(result.stdout.trimEnd());
  t.ok(parsed, 'the config loader accepts it');
  t.equal(await verifyPassword('Tr0ub4dor &3', parsed!), true, 'the password verifies (inner space kept)');
  t.equal(await verifyPassword('Tr0ub4dor &3\n', parsed!), false, 'the newline is not part of the password');
  t.equal(await verifyPassword('Tr0ub4dor &4', parsed!), false, 'a wrong password is refused');
});

t.test('a CRLF line ending and a missing final newline are not part of the password', async (t) => {
  for (const input of ['pw with crlf\r\n', 'pw with crlf']) {
    const result = await runCli(['hash-password'], PROJECT_ROOT, input);
    t.equal(result.code, 0);
    t.equal(await verifyPassword('pw with crlf', parsePasswordHash(result.stdout.trimEnd())!), true, JSON.stringify(input));
  }
});

t.test('an empty password or a password argument is a usage error (exit 64), stdout stays empty', async (t) => {
  for (const [args, input, why] of [
    [['hash-password'], '', 'no input'],
    [['hash-password'], '\nsecond line\n', 'empty first line'],
    [['hash-password', 'secret'], 'secret\n', 'password on the command line'],
  ] as const) {
    const result = await runCli([...args], PROJECT_ROOT, input);
    t.equal(result.code, 64, why);
    t.equal(result.stdout, '', why);
    t.match(result.stderr, /^tlsrelay hash-password: /, why);
  }
});
