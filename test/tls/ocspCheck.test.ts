// Revocation checks against a real `openssl ocsp` responder on loopback.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { OcspCache } from '../../src/tls/ocsp/ocspCache.js';
import { checkOcsp, decideOcsp, ocspResponders, type OcspMode } from '../../src/tls/ocsp/ocspCheck.js';
import { fetchOcspResponse } from '../../src/tls/ocsp/ocspFetch.js';
import { startOcspResponder, type OcspResponder } from '../helpers/ocspResponder.js';
import { makeOcspResponse, opensslCertificate, type KeyPair, type OcspIndexEntry } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { needsTool } from '../helpers/tools.js';

const MINUTE = 60_000;
const x509 = (pair: KeyPair): X509Certificate => new X509Certificate(pair.cert);

t.test('decideOcsp: revoked refuses in both modes, the inconclusive accept under soft and wait under hard', async (t) => {
  const thisUpdate = new Date();
  const revokedAt = new Date('2026-12-01T00:00:00Z');
  const table: [OcspMode, Parameters<typeof decideOcsp>[1], ReturnType<typeof decideOcsp>][] = [
    ['soft', { kind: 'good', thisUpdate }, { kind: 'accept', note: 'OCSP: good' }],
    ['hard', { kind: 'good', thisUpdate }, { kind: 'accept', note: 'OCSP: good' }],
    ['soft', { kind: 'revoked', revokedAt, reason: 'keyCompromise', thisUpdate }, { kind: 'refuse', reason: 'certificate revoked at 2026-12-01T00:00:00.000Z (keyCompromise) (OCSP)' }],
    ['hard', { kind: 'revoked', revokedAt, thisUpdate }, { kind: 'refuse', reason: 'certificate revoked at 2026-12-01T00:00:00.000Z (OCSP)' }],
    ['soft', { kind: 'unknown', thisUpdate }, { kind: 'accept', note: 'the OCSP responder does not know the certificate; accepted (tls.ocsp: soft)' }],
    ['hard', { kind: 'unknown', thisUpdate }, { kind: 'temporary', reason: 'the OCSP responder does not know the certificate' }],
    ['soft', { kind: 'invalid', reason: 'bad' }, { kind: 'accept', note: 'invalid OCSP response: bad; accepted (tls.ocsp: soft)' }],
    ['hard', { kind: 'invalid', reason: 'bad' }, { kind: 'temporary', reason: 'invalid OCSP response: bad' }],
    ['soft', { kind: 'unreachable', reason: 'down' }, { kind: 'accept', note: 'OCSP responder unreachable: down; accepted (tls.ocsp: soft)' }],
    ['hard', { kind: 'unreachable', reason: 'down' }, { kind: 'temporary', reason: 'OCSP responder unreachable: down' }],
  ];
  for (const [mode, outcome, decision] of table) t.same(decideOcsp(mode, outcome), decision, `${mode}, ${outcome.kind}`);
});

t.test('OcspCache keeps an answer until its nextUpdate, an hour without one', async (t) => {
  const ca = x509(await opensslCertificate({ subject: '/CN=Cache CA', ca: true }));
  const leaf = x509(await opensslCertificate({ subject: '/CN=leaf' }));
  const now = new Date();
  const cache = new OcspCache();
  cache.put(leaf, ca, { kind: 'good', thisUpdate: now, nextUpdate: new Date(now.getTime() + 5 * MINUTE) }, now);
  t.match(cache.get(leaf, ca, new Date(now.getTime() + 4 * MINUTE)), { kind: 'good' }, 'before nextUpdate');
  t.equal(cache.get(leaf, ca, new Date(now.getTime() + 5 * MINUTE)), undefined, 'never at or past nextUpdate');
  cache.put(leaf, ca, { kind: 'unknown', thisUpdate: now }, now);
  t.match(cache.get(leaf, ca, new Date(now.getTime() + 59 * MINUTE)), { kind: 'unknown' }, 'no nextUpdate: kept under an hour');
  t.equal(cache.get(leaf, ca, new Date(now.getTime() + 60 * MINUTE)), undefined, 'and not after');
  cache.put(leaf, ca, { kind: 'good', thisUpdate: now, nextUpdate: new Date(now.getTime() - 1) }, now);
  t.equal(cache.get(leaf, ca, now), undefined, 'an answer already past its nextUpdate is not kept');
  t.equal(cache.get(leaf, leaf, now), undefined, 'the same serial under another issuer is another entry');
});

t.test('checkOcsp with openssl ocsp on loopback', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const ca = await opensslCertificate({ subject: '/CN=Partner CA', ca: true });
  const otherCa = await opensslCertificate({ subject: '/CN=Other CA', ca: true });
  /** A certificate whose AIA names a responder on `port` (which may stay down). */
  const leafFor = (port: number, name = 'mx.partner.test'): Promise<KeyPair> =>
    opensslCertificate({ subject: `/CN=${name}`, issuer: ca, extensions: [`authorityInfoAccess = OCSP;URI:http://127.0.0.1:${port}/`] });
  const responders: OcspResponder[] = [];
  t.teardown(() => Promise.all(responders.map((responder) => responder.stop())));
  const serve = async (port: number, index: OcspIndexEntry[], options: { signer?: KeyPair; minutes?: number } = {}): Promise<OcspResponder> => {
    const responder = await startOcspResponder({ ca, index, port, ...options });
    responders.push(responder);
    return responder;
  };
  const check = (leaf: KeyPair, mode: OcspMode, more: { stapled?: Buffer; cache?: OcspCache; now?: Date } = {}): ReturnType<typeof checkOcsp> =>
    checkOcsp({ certificate: x509(leaf), issuer: x509(ca), mode, cache: more.cache ?? new OcspCache(), fetch: fetchOcspResponse, now: more.now ?? new Date(), timeoutMs: 5000, ...(more.stapled ? { stapled: more.stapled } : {}) });

  t.test('the AIA names the responder', async (t) => {
    const port = await freePort();
    t.same(ocspResponders(x509(await leafFor(port))), [`http://127.0.0.1:${port}/`]);
  });

  t.test('good, revoked, unknown from the responder', async (t) => {
    const port = await freePort();
    const [good, revoked, unlisted] = await Promise.all([leafFor(port, 'good.partner.test'), leafFor(port, 'revoked.partner.test'), leafFor(port, 'unlisted.partner.test')]);
    await serve(port, [{ certificate: good }, { certificate: revoked, revokedAt: new Date('2026-12-01T00:00:00Z'), reason: 'keyCompromise' }]);
    t.same(await check(good, 'hard'), { kind: 'accept', note: 'OCSP: good', source: 'responder' });
    const refusal = { kind: 'refuse', reason: 'certificate revoked at 2026-12-01T00:00:00.000Z (keyCompromise) (OCSP)', source: 'responder' };
    t.same(await check(revoked, 'soft'), refusal, 'revoked: refused under soft');
    t.same(await check(revoked, 'hard'), refusal, 'and under hard');
    t.same(await check(unlisted, 'soft'), { kind: 'accept', note: 'the OCSP responder does not know the certificate; accepted (tls.ocsp: soft)', source: 'responder' });
    t.same(await check(unlisted, 'hard'), { kind: 'temporary', reason: 'the OCSP responder does not know the certificate', source: 'responder' });
  });

  t.test('responder down: accepted under soft, temporary under hard', async (t) => {
    const port = await freePort();
    const leaf = await leafFor(port);
    const soft = await check(leaf, 'soft');
    t.match(soft, { kind: 'accept', source: 'responder', note: `OCSP responder unreachable: OCSP responder http://127.0.0.1:${port}/: ECONNREFUSED` });
    t.match(await check(leaf, 'hard'), { kind: 'temporary', source: 'responder', reason: /^OCSP responder unreachable: .*ECONNREFUSED/ });
  });

  t.test('a response signed by another CA key: not trusted', async (t) => {
    const port = await freePort();
    const leaf = await leafFor(port);
    await serve(port, [{ certificate: leaf }], { signer: otherCa });
    t.match(await check(leaf, 'hard'), { kind: 'temporary', reason: /^invalid OCSP response: the responder certificate CN=Other CA that signed the response was not issued/ });
    t.match(await check(leaf, 'soft'), { kind: 'accept', note: /^invalid OCSP response: .*; accepted \(tls\.ocsp: soft\)$/ });
  });

  t.test('a delegated responder certificate: with OCSPSigning trusted, without not', async (t) => {
    const delegated = await opensslCertificate({ subject: '/CN=Partner OCSP', issuer: ca, extensions: ['extendedKeyUsage = OCSPSigning'] });
    const webOnly = await opensslCertificate({ subject: '/CN=Partner Web', issuer: ca, extensions: ['extendedKeyUsage = serverAuth'] });
    const [withEku, withoutEku] = [await freePort(), await freePort()];
    const [leafWith, leafWithout] = await Promise.all([leafFor(withEku), leafFor(withoutEku)]);
    await serve(withEku, [{ certificate: leafWith }], { signer: delegated });
    await serve(withoutEku, [{ certificate: leafWithout }], { signer: webOnly });
    t.same(await check(leafWith, 'hard'), { kind: 'accept', note: 'OCSP: good', source: 'responder' });
    t.same(await check(leafWithout, 'hard'), { kind: 'temporary', reason: 'invalid OCSP response: the responder certificate CN=Partner Web lacks the extended key usage OCSPSigning', source: 'responder' });
  });

  t.test('a staple is used without asking the responder', async (t) => {
    const port = await freePort(); // nothing listens: an answer can only come from the staple
    const leaf = await leafFor(port);
    t.same(await check(leaf, 'hard', { stapled: await makeOcspResponse(ca, leaf, { minutes: 5 }) }), { kind: 'accept', note: 'OCSP: good', source: 'stapled' });
    const revoked = await makeOcspResponse(ca, leaf, { index: [{ certificate: leaf, revokedAt: new Date('2026-12-01T00:00:00Z') }] });
    t.match(await check(leaf, 'soft', { stapled: revoked }), { kind: 'refuse', source: 'stapled' }, 'a stapled revocation refuses');
  });

  t.test('an expired or foreign staple falls back to the responder', async (t) => {
    const port = await freePort();
    const leaf = await leafFor(port);
    await serve(port, [{ certificate: leaf }], { minutes: 60 });
    const later = new Date(Date.now() + 2 * MINUTE);
    const expired = await makeOcspResponse(ca, leaf, { minutes: 1 });
    t.same(await check(leaf, 'hard', { stapled: expired, now: later }), { kind: 'accept', note: 'OCSP: good', source: 'responder' });
    const foreign = await makeOcspResponse(ca, leaf, { signer: otherCa });
    t.same(await check(leaf, 'hard', { stapled: foreign }), { kind: 'accept', note: 'OCSP: good', source: 'responder' }, 'a staple signed by a stranger');
  });

  t.test('a cached answer spares the responder', async (t) => {
    const port = await freePort();
    const leaf = await leafFor(port);
    const responder = await serve(port, [{ certificate: leaf }]);
    const cache = new OcspCache();
    t.same(await check(leaf, 'hard', { cache }), { kind: 'accept', note: 'OCSP: good', source: 'responder' });
    await responder.stop();
    t.same(await check(leaf, 'hard', { cache }), { kind: 'accept', note: 'OCSP: good', source: 'cache' }, 'responder stopped: from the cache');
    t.match(await check(leaf, 'hard', { cache, now: new Date(Date.now() + 6 * MINUTE) }), { kind: 'temporary', source: 'responder' }, 'past nextUpdate (5 min): asked again');
  });

  t.test('no responder named and no staple: accepted, not checked', async (t) => {
    const leaf = await opensslCertificate({ subject: '/CN=mx.plain.test', issuer: ca });
    t.same(await check(leaf, 'hard'), { kind: 'accept', note: 'the certificate names no OCSP responder; not checked', source: 'none' });
    const foreign = await makeOcspResponse(ca, leaf, { signer: otherCa });
    t.match(await check(leaf, 'hard', { stapled: foreign }), { kind: 'temporary', source: 'stapled', reason: /^invalid OCSP response: / }, 'an invalid staple is all there is');
  });
});
