import t from 'tap';
import { randomBytes, scryptSync } from 'node:crypto';
import { AdminPassword, basicPassword } from '../../src/admin/basicAuth.js';

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');
/** A hash as `tlsrelay hash-password` writes one, at a cost a test can pay many times. */
function cheapHash(password: string): string {
  const salt = randomBytes(16);
  return `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 }))}`;
}
const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

t.test('basicPassword: the password of user admin, nothing for anything else', async (t) => {
  t.equal(basicPassword(basic('admin:s3cret')), 's3cret');
  t.equal(basicPassword(basic('admin:with:colons')), 'with:colons', 'only the first colon splits');
  t.equal(basicPassword(basic('admin:')), '', 'an empty password is a password (that fails)');
  t.equal(basicPassword(`basic ${Buffer.from('admin:x').toString('base64')}`), 'x', 'the scheme in any case');
  t.equal(basicPassword(basic('root:s3cret')), undefined, 'another user');
  t.equal(basicPassword(basic('admin')), undefined, 'no colon');
  t.equal(basicPassword('Bearer abc'), undefined);
  t.equal(basicPassword('Basic not base64!'), undefined);
  t.equal(basicPassword(undefined), undefined);
});

t.test('AdminPassword: the hash decides; a new hash is checked afresh', async (t) => {
  const check = new AdminPassword();
  const first = cheapHash('first');
  t.equal(await check.accepts(basic('admin:first'), first), true);
  t.equal(await check.accepts(basic('admin:first'), first), true, 'again (the kept digest)');
  t.equal(await check.accepts(basic('admin:wrong'), first), false);
  t.equal(await check.accepts(undefined, first), false, 'no header');
  t.equal(await check.accepts(basic('admin:first'), 'not a hash'), false, 'a hash that does not parse accepts nothing');
  const second = cheapHash('second');
  t.equal(await check.accepts(basic('admin:first'), second), false, 'after a reload the old password passes no more');
  t.equal(await check.accepts(basic('admin:second'), second), true);
});

t.test('AdminPassword: one scrypt check at a time, and no more than 8 waiting', async (t) => {
  const check = new AdminPassword();
  const stored = cheapHash('right');
  const results = await Promise.all(Array.from({ length: 10 }, () => check.accepts(basic('admin:right'), stored)));
  t.strictSame(results, [true, true, true, true, true, true, true, true, false, false], 'the ninth and tenth are refused at once');
  t.equal(await check.accepts(basic('admin:right'), stored), true, 'and the next one passes');
});
