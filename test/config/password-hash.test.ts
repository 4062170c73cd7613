import t from 'tap';
import { randomBytes, scryptSync } from 'node:crypto';
import { parsePasswordHash } from '../../src/config/password-hash.js';

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

t.test('a PHC scrypt string round-trips into what scrypt needs', async (t) => {
  const salt = randomBytes(16);
  const hash = scryptSync('correct horse', salt, 32, { N: 2 ** 10, r: 8, p: 1 });
  const parsed = parsePasswordHash(`$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(hash)}`);
  t.ok(parsed);
  if (!parsed) return;
  t.same({ ln: parsed.ln, r: parsed.r, p: parsed.p }, { ln: 10, r: 8, p: 1 });
  t.same(parsed.salt, salt);
  const again = scryptSync('correct horse', parsed.salt, parsed.hash.length, { N: 2 ** parsed.ln, r: parsed.r, p: parsed.p });
  t.same(again, parsed.hash, 'the parsed parts verify the password');
  t.ok(parsePasswordHash(`$scrypt$ln=10,r=8,p=1$${salt.toString('base64')}$${hash.toString('base64')}`), 'padding is tolerated');
});

t.test('malformed, weak or ruinously costly hashes are refused', async (t) => {
  const salt = b64(Buffer.alloc(16, 1));
  const hash = b64(Buffer.alloc(32, 2));
  const bad = [
    '',
    'hunter2',
    `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${hash}`,
    `$scrypt$ln=10,r=8$${salt}$${hash}`,
    `$scrypt$r=8,ln=10,p=1$${salt}$${hash}`,
    `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=0,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=17$${salt}$${hash}`,
    `$scrypt$ln=23,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=10,r=8,p=1$${b64(Buffer.alloc(4))}$${hash}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${b64(Buffer.alloc(8))}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${hash}$`,
    `$scrypt$ln=10,r=8,p=1$${salt}`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${hash.slice(0, -1)}B`,
    `$scrypt$ln=10,r=8,p=1$${salt}$${hash}AB`,
  ];
  for (const text of bad) t.equal(parsePasswordHash(text), undefined, text);
});
