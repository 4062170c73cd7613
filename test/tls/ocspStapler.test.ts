// The staples the listeners serve: when a response makes one, how long it is served, when
// it is refreshed, and the stapler over responses made by `openssl ocsp`.
import { createHash, X509Certificate } from 'node:crypto';
import t from 'tap';
import { StapleFiles } from '../../src/inbound/stapleFiles.js';
import { OcspStapler } from '../../src/tls/stapling/ocspStapler.js';
import { MIN_REFRESH_MS, refreshDelay, retryDelay, RETRY_MAX_MS, servable, stapleOf } from '../../src/tls/stapling/stapleSchedule.js';
import { capturingLogger, type CapturedLine } from '../helpers/capturingLogger.js';
import { makeOcspResponse, opensslCertificate, type KeyPair } from '../helpers/pki.js';
import { servedCertificate } from '../helpers/testConfig.js';
import { needsTool } from '../helpers/tools.js';
import { until } from '../helpers/until.js';

const MINUTE = 60_000;
const der = Buffer.from('response');

t.test('stapleOf: only a good answer is stapled, until its nextUpdate or an hour after thisUpdate', async (t) => {
  const thisUpdate = new Date('2026-12-06T10:00:00Z');
  const nextUpdate = new Date('2026-12-06T12:00:00Z');
  t.same(stapleOf(der, { kind: 'good', thisUpdate, nextUpdate }), { der, until: nextUpdate });
  t.same(stapleOf(der, { kind: 'good', thisUpdate }), { der, until: new Date('2026-12-06T11:00:00Z') }, 'no nextUpdate: an hour');
  t.equal(stapleOf(der, { kind: 'revoked', revokedAt: thisUpdate, reason: 'keyCompromise', thisUpdate }), 'the responder says the certificate was revoked at 2026-12-06T10:00:00.000Z (keyCompromise)');
  t.equal(stapleOf(der, { kind: 'unknown', thisUpdate }), 'the responder does not know the certificate');
  t.equal(stapleOf(der, { kind: 'invalid', reason: 'bad signature' }), 'invalid OCSP response: bad signature');
});

t.test('served before nextUpdate only; refreshed at half the time left; retried with backoff', async (t) => {
  const now = new Date('2026-12-06T10:00:00Z');
  const staple = { der, until: new Date(now.getTime() + 60 * MINUTE) };
  t.ok(servable(staple, new Date(staple.until.getTime() - 1)));
  t.notOk(servable(staple, staple.until), 'never at or past nextUpdate');
  t.equal(refreshDelay(staple, now), 30 * MINUTE);
  t.equal(refreshDelay(staple, new Date(staple.until.getTime() - MINUTE)), MIN_REFRESH_MS, 'never sooner than the floor');
  t.same([1, 2, 3, 7, 30].map(retryDelay), [MINUTE, 2 * MINUTE, 4 * MINUTE, RETRY_MAX_MS, RETRY_MAX_MS]);
});

t.test('OcspStapler', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const ca = await opensslCertificate({ subject: '/CN=Stapling CA', ca: true });
  const issue = (name: string): Promise<KeyPair> => opensslCertificate({ subject: `/CN=${name}`, issuer: ca, extensions: ['authorityInfoAccess = OCSP;URI:http://ocsp.stapling.test/'] });
  const [first, rotated] = await Promise.all([issue('relay.test'), issue('relay.test')]);
  const withChain = (pair: KeyPair): KeyPair => ({ key: pair.key, cert: pair.cert + ca.cert });
  const [firstResponse, rotatedResponse] = await Promise.all([makeOcspResponse(ca, first, { minutes: 5 }), makeOcspResponse(ca, rotated, { minutes: 5 })]);
  const asked: string[] = [];
  let answer = firstResponse;
  const { logger, lines } = capturingLogger();
  const stapler = new OcspStapler({
    files: new StapleFiles(t.testdir(), logger),
    logger,
    // the responder's answer, made by openssl beforehand (test/tls/ocspCheck asks a live one)
    fetch: async (url) => {
      asked.push(url);
      return answer;
    },
  });
  t.teardown(() => stapler.close());
  const raw = (pair: KeyPair): Buffer => new X509Certificate(pair.cert).raw;
  const fetched = (): number => lines.filter((line) => line.msg === 'OCSP staple fetched').length;

  await stapler.serve([servedCertificate(withChain(first))]);
  await until(() => fetched() === 1);
  t.same(asked, ['http://ocsp.stapling.test/'], 'the responder its AIA names');
  t.same(stapler.stapleFor(raw(first)), firstResponse, 'the response is stapled');
  t.equal(stapler.stapleFor(raw(first), new Date(Date.now() + 6 * MINUTE)), undefined, 'never past its nextUpdate');
  t.equal(stapler.stapleFor(raw(rotated)), undefined, 'nothing for a certificate not served');

  answer = rotatedResponse;
  await stapler.serve([servedCertificate(withChain(rotated))]);
  await until(() => fetched() === 2);
  t.same(stapler.stapleFor(raw(rotated)), rotatedResponse, 'a rotated certificate gets its own staple');
  t.equal(stapler.stapleFor(raw(first)), undefined, 'the one it replaced is no longer stapled');

  await stapler.serve([servedCertificate(first)]);
  t.match(lines.at(-1), { msg: /^no OCSP stapling for this certificate: its file holds no issuer certificate/ }, 'without its issuer in the file: said, and not stapled');
  t.equal(stapler.stapleFor(raw(first)), undefined);
  t.equal(asked.length, 2, 'and not asked for');

  // its staple is still on disk from before: read back at once
  await stapler.serve([servedCertificate(withChain(first))]);
  t.same(stapler.stapleFor(raw(first)), firstResponse, 'served again: its staple read back from disk');
  const rsaTwin = await opensslCertificate({ subject: '/CN=relay.test', issuer: ca, newKey: 'rsa:2048' });
  await stapler.serve([servedCertificate(withChain(first)), servedCertificate(rsaTwin)]);
  t.match(lines.at(-1), { msg: /served beside a certificate of another key type/ }, 'an RSA certificate for its name joins it: said');
  t.equal(stapler.stapleFor(raw(first)), undefined, 'and the staple it had is no longer served');
});

t.test('OcspStapler refreshing: a failure keeps the staple, a revocation drops it, on disk too', needsTool('openssl', 'apt-get install openssl'), async (t) => {
  const ca = await opensslCertificate({ subject: '/CN=Refresh CA', ca: true });
  const leaf = await opensslCertificate({ subject: '/CN=relay.test', issuer: ca, extensions: ['authorityInfoAccess = OCSP;URI:http://ocsp.refresh.test/'] });
  const [good, revoked] = await Promise.all([
    makeOcspResponse(ca, leaf, { minutes: 5 }),
    makeOcspResponse(ca, leaf, { minutes: 5, index: [{ certificate: leaf, revokedAt: new Date(Date.now() - MINUTE), reason: 'keyCompromise' }] }),
  ]);
  // what the responder does at each ask: answer good, be down, then — once the test has
  // looked — say revoked
  let lookedAtTheFailure: () => void = () => undefined;
  const looked = new Promise<void>((resolve) => (lookedAtTheFailure = resolve));
  const answers: Array<() => Promise<Buffer>> = [
    async () => good,
    async () => {
      throw new Error('OCSP responder http://ocsp.refresh.test/: ECONNREFUSED');
    },
    () => looked.then(() => revoked),
  ];
  const dir = t.testdir();
  const { logger, lines } = capturingLogger();
  const files = new StapleFiles(dir, logger);
  const stapler = new OcspStapler({
    files,
    logger,
    // after the last, a responder that never answers
    fetch: () => (answers.shift() ?? (() => new Promise<Buffer>(() => undefined)))(),
    schedule: { refreshDelay: () => 20, retryDelay: () => 20 },
  });
  t.teardown(() => stapler.close());
  const raw = new X509Certificate(leaf.cert).raw;
  const id = createHash('sha256').update(raw).digest('hex');
  const said = (msg: string): CapturedLine[] => lines.filter((line) => line.msg === msg);

  await stapler.serve([servedCertificate({ key: leaf.key, cert: leaf.cert + ca.cert })]);
  await until(() => said('OCSP staple not fetched').length === 1);
  t.match(said('OCSP staple not fetched')[0], { reason: /ECONNREFUSED/, stapledUntil: String }, 'the failed refresh is said, with the staple still served');
  t.same(stapler.stapleFor(raw), good, 'and it is');
  t.same(await files.read(id), good, 'kept on disk');
  lookedAtTheFailure();
  await until(() => said('OCSP staple not fetched').length === 2);
  t.match(said('OCSP staple not fetched')[1], { reason: /revoked at .* \(keyCompromise\)/, stapled: false }, 'revoked: said');
  t.equal(stapler.stapleFor(raw), undefined, 'the good staple it had is dropped');
  t.equal(await files.read(id), undefined, 'and removed from disk: a restart does not bring it back');
});
