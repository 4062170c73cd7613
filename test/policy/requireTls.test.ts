import t from 'tap';
import type { AppliedPolicy } from '../../src/policy/appliedPolicy.js';
import { checkRequireTlsParameter, requireTlsFit, requireTlsRefusal, type RequireTlsFit } from '../../src/policy/requireTls.js';
import type { CertVerdict } from '../../src/queue/types.js';

const TLS = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
const OK: RequireTlsFit = { ok: true };
const short = (shortfall: 'no-tls' | 'not-authenticated' | 'not-advertised'): RequireTlsFit => ({ ok: false, shortfall });

t.test('MAIL FROM … REQUIRETLS is taken inside TLS only', async (t) => {
  t.same(checkRequireTlsParameter(true), { ok: true });
  t.same(checkRequireTlsParameter(false), { ok: false, code: 530, message: '5.7.10 REQUIRETLS needs TLS', reason: 'tls-required' });
});

t.test('a session qualifies when a policy that insists on it authenticated the certificate', async (t) => {
  // every policy the transit record knows, with the verdict a session it let through has
  const cases: Array<[string, AppliedPolicy, CertVerdict, RequireTlsFit]> = [
    ['no policy (opportunistic), certificate happens to verify', { source: 'none' }, 'verified', short('not-authenticated')],
    ['no policy, untrusted certificate', { source: 'none' }, 'untrusted', short('not-authenticated')],
    ['encrypt', { source: 'connector', level: 'encrypt' }, 'untrusted', short('not-authenticated')],
    ['encrypt, certificate happens to verify', { source: 'connector', level: 'encrypt' }, 'verified', short('not-authenticated')],
    ['verify-ca: the chain', { source: 'connector', level: 'verify-ca' }, 'trusted', OK],
    ['verify-ca: chain and name', { source: 'connector', level: 'verify-ca' }, 'verified', OK],
    ['verify', { source: 'connector', level: 'verify' }, 'verified', OK],
    ['fingerprint', { source: 'connector', level: 'fingerprint' }, 'pinned', OK],
    ['DANE', { source: 'dane', tlsa: ['3 1 1 aa'] }, 'dane', OK],
    ['dane-only', { source: 'connector', level: 'dane-only' }, 'dane', OK],
    // RFC 7672 §2.2: only unusable TLSA records mean TLS without authentication, whatever the chain shows
    ['DANE with only unusable TLSA records, the chain happens to verify', { source: 'dane', tlsa: ['1 1 1 aa'] }, 'verified', short('not-authenticated')],
    ['DANE with only unusable TLSA records, a trusted chain', { source: 'dane', tlsa: ['0 0 1 aa'] }, 'trusted', short('not-authenticated')],
    ['MTA-STS enforce', { source: 'mta-sts', mode: 'enforce', id: '1', mx: ['mx.test'], policyText: [] }, 'verified', OK],
    ['MTA-STS testing: it only reports', { source: 'mta-sts', mode: 'testing', id: '1', mx: ['mx.test'], policyText: [] }, 'verified', short('not-authenticated')],
    // a policy never lets such a session through; if one ever did, it still does not qualify
    ['verify with an untrusted certificate', { source: 'connector', level: 'verify' }, 'untrusted', short('not-authenticated')],
  ];
  for (const [name, policy, verdict, expected] of cases) {
    t.same(requireTlsFit({ policy, tls: TLS, verdict, advertised: true }), expected, name);
  }
});

t.test('without TLS or without REQUIRETLS in the EHLO inside TLS, no session qualifies', async (t) => {
  const verify: AppliedPolicy = { source: 'connector', level: 'verify' };
  t.same(requireTlsFit({ policy: { source: 'none' }, tls: null, verdict: 'none', advertised: false }), short('no-tls'), 'plaintext');
  t.same(requireTlsFit({ policy: verify, tls: null, verdict: 'none', advertised: true }), short('no-tls'), 'plaintext, whatever was listed');
  t.same(requireTlsFit({ policy: verify, tls: TLS, verdict: 'verified', advertised: false }), short('not-advertised'), 'authenticated, not advertised');
  t.same(requireTlsFit({ policy: { source: 'none' }, tls: TLS, verdict: 'untrusted', advertised: false }), short('not-authenticated'), 'the first shortfall is named');
});

t.test('the refusal names the host and why, after the RFC 8689 text', async (t) => {
  const host = 'mx.b.test[192.0.2.1]';
  t.equal(requireTlsRefusal('not-advertised', host), '550 5.7.30 REQUIRETLS support required: host mx.b.test[192.0.2.1] does not advertise REQUIRETLS');
  t.equal(requireTlsRefusal('no-tls', host), '550 5.7.30 REQUIRETLS support required: the session with host mx.b.test[192.0.2.1] is not encrypted');
  t.match(requireTlsRefusal('not-authenticated', host), /^550 5\.7\.30 REQUIRETLS support required: the certificate of host mx\.b\.test\[192\.0\.2\.1\] was not authenticated \(/);
});
