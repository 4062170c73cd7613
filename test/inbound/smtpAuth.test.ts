import t from 'tap';
import { randomBytes, scryptSync } from 'node:crypto';
import { parsePasswordHash } from '../../src/config/password-hash.js';
import { hashPassword, verifyPassword } from '../../src/config/passwords.js';
import { SmtpAuthenticator } from '../../src/inbound/smtpAuth.js';

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/** A cheap (N = 2^10) hash made independently of the code under test. */
function cheapHash(password: string): string {
  const salt = randomBytes(16);
  return `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(scryptSync(password, salt, 32, { N: 2 ** 10, r: 8, p: 1 }))}`;
}

t.test('hashPassword writes a PHC scrypt string with the documented parameters that verifies', async (t) => {
  const text = await hashPassword('correct horse');
  t.match(text, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  const parsed = parsePasswordHash(text)!;
  t.equal(parsed.salt.length, 16);
  t.equal(parsed.hash.length, 32);
  t.same(scryptSync('correct horse', parsed.salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }), parsed.hash, 'plain scrypt agrees');
  t.equal(await verifyPassword('correct horse', parsed), true);
  t.equal(await verifyPassword('correct horse ', parsed), false, 'one character more is wrong');
  t.not(await hashPassword('correct horse'), text, 'a fresh salt each time');
});

t.test('verifyPassword checks hashes made by other tools, e.g. with p > 1', async (t) => {
  const salt = randomBytes(16);
  const hash = scryptSync('pässwörd', salt, 64, { N: 2 ** 10, r: 4, p: 2 });
  const parsed = parsePasswordHash(`$scrypt$ln=10,r=4,p=2$${b64(salt)}$${b64(hash)}`)!;
  t.equal(await verifyPassword('pässwörd', parsed), true, 'UTF-8 password, 64-byte hash');
  t.equal(await verifyPassword('passwort', parsed), false);
});

t.test('SmtpAuthenticator: known user with the right password only', async (t) => {
  const auth = new SmtpAuthenticator({ users: [{ name: 'alice', passwordHash: cheapHash('s3cret') }, { name: 'bob', passwordHash: cheapHash('other') }], maxFailuresPerIp: 100 });
  t.equal(await auth.check('192.0.2.1', 'alice', 's3cret'), 'authenticated');
  t.equal(await auth.check('192.0.2.1', 'bob', 'other'), 'authenticated');
  t.equal(await auth.check('192.0.2.1', 'alice', 'other'), 'rejected', "another user's password");
  t.equal(await auth.check('192.0.2.1', 'Alice', 's3cret'), 'rejected', 'user names are exact');
  t.equal(await auth.check('192.0.2.1', 'mallory', 's3cret'), 'rejected', 'unknown user');
  t.equal(await auth.check('192.0.2.1', 'mallory', ''), 'rejected', 'unknown user, empty password');
});

t.test('SmtpAuthenticator: without users everything is rejected', async (t) => {
  const auth = new SmtpAuthenticator({ users: [], maxFailuresPerIp: 5 });
  t.equal(await auth.check('192.0.2.1', 'alice', 's3cret'), 'rejected');
});

t.test('SmtpAuthenticator: parallel guesses from one IP cannot overrun the limit; successes do not count', async (t) => {
  const auth = new SmtpAuthenticator({ users: [{ name: 'alice', passwordHash: cheapHash('s3cret') }], maxFailuresPerIp: 3 });
  t.equal(await auth.check('192.0.2.1', 'alice', 's3cret'), 'authenticated');
  const outcomes = await Promise.all([1, 2, 3, 4, 5].map((i) => auth.check('192.0.2.1', 'alice', `guess ${i}`)));
  t.same(outcomes.sort(), ['rejected', 'rejected', 'rejected', 'throttled', 'throttled']);
  t.equal(await auth.check('192.0.2.1', 'alice', 's3cret'), 'throttled', 'even the right password, once the IP is over its limit');
  t.equal(await auth.check('192.0.2.2', 'alice', 's3cret'), 'authenticated', 'another IP is not affected');
});

t.test('SmtpAuthenticator.reconfigure: new users and limit; the failures counted so far still count', async (t) => {
  const auth = new SmtpAuthenticator({ users: [{ name: 'alice', passwordHash: cheapHash('s3cret') }], maxFailuresPerIp: 2 });
  t.equal(await auth.check('192.0.2.1', 'alice', 'guess 1'), 'rejected');
  t.equal(await auth.check('192.0.2.1', 'alice', 'guess 2'), 'rejected');
  auth.reconfigure({ users: [{ name: 'bob', passwordHash: cheapHash('other') }], maxFailuresPerIp: 3 });
  t.equal(auth.maxFailuresPerIp, 3);
  t.equal(await auth.check('192.0.2.1', 'alice', 's3cret'), 'rejected', 'a removed user no longer logs in; the third failure under the new limit');
  t.equal(await auth.check('192.0.2.1', 'bob', 'other'), 'throttled', 'the reload did not wipe the count');
  t.equal(await auth.check('192.0.2.2', 'bob', 'other'), 'authenticated', 'the new user logs in');
});
