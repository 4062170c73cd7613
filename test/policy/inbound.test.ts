import t from 'tap';
import { configFromYaml } from '../helpers/config.js';
import {
  checkInboundRequirements,
  checkRecipient,
  mayRelay,
  selectInboundConnector,
  type ClientCertificateFacts,
  type InboundFacts,
} from '../../src/policy/inbound.js';

const config = configFromYaml(`
listeners: [{ name: mx, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
acceptedDomains: [contoso.test, "*.sub.contoso.test"]
inbound:
  - name: onprem
    match: { certificateNames: [exchange.contoso.test] }
    relay: true
  - name: partner-fabrikam
    match: { senderDomains: [fabrikam.test] }
    require: { tls: true, certificateNames: [mail.fabrikam.test] }
  - name: partner-litware
    match: { senderDomains: [litware.test] }
    require: { ips: [192.0.2.0/24] }
  - name: local
    match: { ips: [127.0.0.1/32, "::1/128"] }
    relay: true
`);

function facts(overrides: Partial<InboundFacts>): InboundFacts {
  return { ip: '198.51.100.7', tls: false, certificate: undefined, senderDomain: 'example.test', authenticated: false, ...overrides };
}

const NOT_CHECKED = { kind: 'not-checked' } as const;
const trustedExchange = { trusted: true, names: ['exchange.contoso.test'], ocsp: NOT_CHECKED };

t.test('connector selection: first whose match fields all hold', async (t) => {
  const cases: Array<[string, Partial<InboundFacts>, string | undefined]> = [
    ['trusted certificate name', { tls: true, certificate: trustedExchange }, 'onprem'],
    ['same name but untrusted chain', { tls: true, certificate: { trusted: false, names: ['exchange.contoso.test'], ocsp: NOT_CHECKED } }, undefined],
    ['sender domain', { senderDomain: 'fabrikam.test' }, 'partner-fabrikam'],
    ['loopback IPv4', { ip: '127.0.0.1' }, 'local'],
    ['IPv4-mapped loopback counts as IPv4', { ip: '::ffff:127.0.0.1' }, 'local'],
    ['loopback IPv6', { ip: '::1' }, 'local'],
    ['nobody', {}, undefined],
    ['null sender matches no sender domain', { senderDomain: undefined, ip: '198.51.100.7' }, undefined],
  ];
  for (const [name, given, expected] of cases) {
    t.equal(selectInboundConnector(config, facts(given)).connector?.name, expected, name);
  }
});

t.test('tls.ocsp: revoked is refused for good, unconfirmed (hard) gets a try-later from the connector it will get', async (t) => {
  const fabrikam = config.inbound[1]!;
  const why = 'certificate revoked at 2026-12-01T00:00:00.000Z (OCSP)';
  const revoked: ClientCertificateFacts = { trusted: false, error: why, names: ['mail.fabrikam.test'], ocsp: { kind: 'revoked', reason: why } };
  t.match(checkInboundRequirements(fabrikam, facts({ tls: true, certificate: revoked })), { ok: false, code: 530, message: /^5\.7\.1 .*not trusted \(certificate revoked at .*\(OCSP\)\)/ });
  const reason = 'OCSP responder unreachable: down (tls.ocsp: hard)';
  const unconfirmed = (names: string[]): ClientCertificateFacts => ({ trusted: false, error: reason, names, ocsp: { kind: 'unconfirmed', reason } });
  t.same(checkInboundRequirements(fabrikam, facts({ tls: true, certificate: unconfirmed(['mail.fabrikam.test']) })), {
    ok: false,
    code: 451,
    message: `4.7.0 Connector "partner-fabrikam" cannot check the client certificate now: ${reason}; try again later`,
    reason: 'certificate',
  });
  t.match(checkInboundRequirements(fabrikam, facts({ tls: true, certificate: unconfirmed(['evil.test']) })), { code: 530 }, 'a name the connector does not take is refused for good whatever OCSP says');
  const selected = selectInboundConnector(config, facts({ tls: true, certificate: unconfirmed(['exchange.contoso.test']) }));
  t.equal(selected.connector?.name, 'onprem', 'placed with the connector its name will get, not left to relaying denied');
  t.match(selected.reason, /once OCSP confirms the client certificate/);
  t.match(checkInboundRequirements(selected.connector!, facts({ tls: true, certificate: unconfirmed(['exchange.contoso.test']) })), { ok: false, code: 451 });
  t.equal(selectInboundConnector(config, facts({ tls: true, certificate: { ...revoked, names: ['exchange.contoso.test'] } })).connector, undefined, 'a revoked certificate matches nobody');
});

t.test('requirements: TLS, certificate, source IPs', async (t) => {
  const fabrikam = config.inbound[1]!;
  t.same(checkInboundRequirements(fabrikam, facts({ senderDomain: 'fabrikam.test' })), {
    ok: false,
    code: 530,
    message: '5.7.0 Must issue a STARTTLS command first',
    reason: 'tls-required',
  });
  const noCert = checkInboundRequirements(fabrikam, facts({ tls: true }));
  t.match(noCert, { ok: false, code: 530, message: /^5\.7\.1 .*no client certificate was presented/, reason: 'certificate' });
  const untrusted = checkInboundRequirements(fabrikam, facts({ tls: true, certificate: { trusted: false, error: 'SELF_SIGNED_CERT_IN_CHAIN', names: ['mail.fabrikam.test'], ocsp: NOT_CHECKED } }));
  t.match(untrusted, { ok: false, code: 530, message: /not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/ });
  const wrongName = checkInboundRequirements(fabrikam, facts({ tls: true, certificate: { trusted: true, names: ['evil.test'], ocsp: NOT_CHECKED } }));
  t.match(wrongName, { ok: false, code: 530, message: /names \(evil\.test\) do not match mail\.fabrikam\.test/ });
  t.same(checkInboundRequirements(fabrikam, facts({ tls: true, certificate: { trusted: true, names: ['mail.fabrikam.test'], ocsp: NOT_CHECKED } })), { ok: true });

  const litware = config.inbound[2]!;
  t.match(checkInboundRequirements(litware, facts({ ip: '203.0.113.5' })), { ok: false, code: 550, message: /^5\.7\.1 /, reason: 'sender-ip' });
  t.same(checkInboundRequirements(litware, facts({ ip: '192.0.2.44' })), { ok: true });
});

t.test('relaying: accepted domains for anyone, other domains only for relay connectors or authenticated users', async (t) => {
  const relaying = config.inbound[3]!;
  const denied = { ok: false, code: 550, message: '5.7.1 Relaying denied', reason: 'relaying' };
  t.same(checkRecipient(config, undefined, 'user@contoso.test', false), { ok: true });
  t.same(checkRecipient(config, undefined, 'user@Contoso.Test.', false), { ok: true }, 'the domain is normalised');
  t.same(checkRecipient(config, undefined, 'user@x.sub.contoso.test', false), { ok: true }, 'wildcard accepted domain');
  t.same(checkRecipient(config, undefined, 'user@sub.contoso.test', false), denied, 'wildcard does not cover its base');
  t.same(checkRecipient(config, undefined, 'user@example.com', false), denied);
  t.same(checkRecipient(config, config.inbound[1], 'user@example.com', false), denied, 'a non-relay connector does not open relaying');
  t.same(checkRecipient(config, relaying, 'user@example.com', false), { ok: true });
  t.same(checkRecipient(config, undefined, 'user@example.com', true), { ok: true }, 'authenticated');
  t.same(checkRecipient(config, relaying, 'postmaster', false), denied, 'no domain at all is never relayed');
});

t.test('sender-specified routing to an accepted domain: refused unless the session may relay', async (t) => {
  const relaying = config.inbound[3]!;
  const denied = { ok: false, code: 550, message: '5.7.1 Relaying denied', reason: 'relaying' };
  for (const address of ['user%evil.test@contoso.test', 'evil.test!user@contoso.test', '"user%evil.test"@contoso.test']) {
    t.same(checkRecipient(config, undefined, address, false), denied, `${address} from a client that may not relay`);
    t.same(checkRecipient(config, config.inbound[1], address, false), denied, `${address} through a connector that does not relay`);
    t.same(checkRecipient(config, relaying, address, false), { ok: true }, `${address} through a relaying connector`);
    t.same(checkRecipient(config, undefined, address, true), { ok: true }, `${address} from an authenticated client`);
  }
});

t.test('who may relay: a relaying connector or an authenticated session', async (t) => {
  t.equal(mayRelay(undefined, false), false);
  t.equal(mayRelay(config.inbound[1], false), false, 'a connector without relay');
  t.equal(mayRelay(config.inbound[3], false), true);
  t.equal(mayRelay(undefined, true), true);
});
